import test from 'ava';
import { notBefore } from '../../src/devices/notification-settings.ts';

const quiet = { quietStart: 22 * 60, quietEnd: 7 * 60 };

test('a push in the quiet hours waits for their end on the person\'s clock', (t) => {
  // 23:30 in Kolkata (UTC+5:30): held until 07:00 there.
  t.is(notBefore(quiet, 'Asia/Kolkata', new Date('2026-12-06T18:00:20Z')).toISOString(), '2026-12-07T01:30:00.000Z');
  // 12:00 in Kolkata: outside, it goes now.
  const noon = new Date('2026-12-06T06:30:00Z');
  t.is(notBefore(quiet, 'Asia/Kolkata', noon), noon);
  t.is(notBefore({ quietStart: null, quietEnd: null }, 'UTC', noon), noon);
});

test('quiet hours across a daylight-saving change end at their hour on the clock of that morning', (t) => {
  // New York springs forward on 2026-03-08: 22:30 EST (UTC-5) the evening before; 07:00 that morning is EDT (UTC-4), 11:00Z.
  t.is(notBefore(quiet, 'America/New_York', new Date('2026-03-08T03:30:00Z')).toISOString(), '2026-03-08T11:00:00.000Z');
  // And falls back on 2026-11-01: 22:30 EDT the evening before; 07:00 that morning is EST, 12:00Z.
  t.is(notBefore(quiet, 'America/New_York', new Date('2026-11-01T02:30:00Z')).toISOString(), '2026-11-01T12:00:00.000Z');
  // Berlin springs forward on 2026-03-29: 23:00 CET the evening before; 07:00 CEST is 05:00Z.
  t.is(notBefore(quiet, 'Europe/Berlin', new Date('2026-03-28T22:00:00Z')).toISOString(), '2026-03-29T05:00:00.000Z');
});
