import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import test from 'ava';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/events/redis-bus.ts';
import type { StreamEntry } from '../../src/events/bus.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';
import { eventually } from './helpers.ts';

const withRedis = testRedisUrl ? test : test.skip;

withRedis('the Redis bus reader hands over every entry as it is published, and never fails a read that waits', async (t) => {
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      warnings.push(chunk.toString());
      done();
    },
  });
  const prefix = testRedisPrefix();
  const bus = new RedisBus({ url: testRedisUrl!, prefix, maxLength: 1000, logger: createLogger('warn', sink) });
  t.teardown(async () => {
    const cleanup = new Redis(testRedisUrl!);
    await cleanup.del(bus.key);
    await cleanup.quit();
    await bus.close();
  });
  const received: StreamEntry[] = [];
  const subscription = await bus.subscribe(await bus.lastId(), (entries) => received.push(...entries));
  t.teardown(() => subscription.close());

  // One at a time, each while the reader waits in XREAD BLOCK: each must arrive before the next is sent.
  for (let i = 0; i < 10; i++) {
    const event = { id: randomUUID(), type: 'test.ping', occurred_at: new Date().toISOString(), data: { i } };
    const [streamId] = await bus.publish([event]);
    const arrived = await eventually(() => received.find((entry) => entry.streamId === streamId), 3000, `entry ${i}`);
    t.is(arrived.event.id, event.id);
  }
  // A read that waits longer than its BLOCK (5 s) with nothing to read is no failure either.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  t.deepEqual(received.map((entry) => entry.event.data.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.deepEqual(warnings, [], 'the reader logged failed reads');
});
