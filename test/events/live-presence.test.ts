import test from 'ava';
import { Redis } from 'ioredis';
import { RedisLivePresence } from '../../src/events/live-presence.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { eventually } from './helpers.ts';

const withRedis = testRedisUrl ? test : test.skip;

/** The longest the event loop went without running a 1 ms timer while `work` ran. */
async function longestStall(work: () => Promise<void>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    clearInterval(timer);
  }
  return longest;
}

withRedis('renewing 10,000 marks leaves the event loop free between slices; another instance sees each device, and none once the instance stops', async (t) => {
  const prefix = testRedisPrefix();
  const logger = createLogger('warn');
  const here = new RedisLivePresence({ url: testRedisUrl!, prefix, logger });
  const there = new RedisLivePresence({ url: testRedisUrl!, prefix, logger });
  const redis = new Redis(testRedisUrl!);
  t.teardown(async () => {
    await Promise.all([here.stop(), there.stop()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  const people = Array.from({ length: 10_000 }, (_, i) => `person-${i}`);
  for (const person of people) here.opened(person, 'portal');
  // Marks made while the connection was still being opened are not written (no offline queue):
  // the next renewal writes them.
  await eventually(async () => {
    await here.renewAll();
    return there.elsewhere(people[9_999]!, 'portal');
  }, 10_000, 'the marks in Redis');
  // Warmed up first (a renewal's first runs are not yet compiled: 270–600 ms here), then the median
  // of five: what a renewal itself holds the loop for, not a collection that falls into one.
  for (let round = 0; round < 3; round++) await here.renewAll();
  const stalls = [];
  for (let round = 0; round < 5; round++) stalls.push(await longestStall(() => here.renewAll()));
  t.log(`longest stall while renewing 10,000 marks: ${stalls.map((ms) => ms.toFixed(1)).join(', ')} ms`);
  const median = stalls.sort((a, b) => a - b)[2]!;
  // Before: one MULTI of 30,000 commands held the loop for 190–300 ms on the development machine.
  t.true(median < 100, `the loop was held for ${median.toFixed(1)} ms (median)`);

  for (const person of [people[0]!, people[4_999]!, people[9_999]!]) t.true(await there.elsewhere(person, 'portal'));
  t.false(await there.elsewhere('someone-else', 'portal'));
  t.false(await here.elsewhere(people[0]!, 'portal'), 'its own marks are not "elsewhere"');

  await here.stop();
  for (const person of [people[0]!, people[9_999]!]) t.false(await there.elsewhere(person, 'portal'), 'its marks went with it');
});
