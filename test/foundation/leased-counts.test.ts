import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { LeasedCounts } from '../../src/platform/leased-counts.ts';
import { createLimits, type Limits } from '../../src/platform/rate-limits.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { testRedisPrefix, testRedisUrl } from '../helpers/backend.ts';

// The API limits (/token per client, events per service, /hub per person) count in Redis when
// the hub has it, in leases of points; without Redis, in the instance's memory.
const withRedis = testRedisUrl ? test : test.skip;

async function limitsOn(t: ExecutionContext, redisPrefix: string, redisUrl = testRedisUrl): Promise<Limits> {
  const limits = await createLimits({ redisUrl, redisPrefix, logger: createLogger('silent') });
  t.teardown(() => limits.close());
  return limits;
}

function redisClient(t: ExecutionContext): Redis {
  const redis = new Redis(testRedisUrl!);
  t.teardown(() => redis.disconnect());
  return redis;
}

test('one instance: a limit of 5 admits exactly 5 in its window, counting down RateLimit\'s remaining, then refuses', async (t) => {
  const limits = await limitsOn(t, testRedisPrefix());
  const answers = [];
  for (let i = 0; i < 7; i++) answers.push(await limits.throttle('token', 'client-a', 5));
  t.deepEqual(answers.map((a) => a.allowed), [true, true, true, true, true, false, false]);
  t.deepEqual(answers.map((a) => a.remaining), [4, 3, 2, 1, 0, 0, 0]);
  t.true(answers.every((a) => a.limit === 5 && a.reset > 0 && a.reset <= 60));
  // Another key, and the same key in another scope, have windows of their own.
  t.true((await limits.throttle('token', 'client-b', 5)).allowed);
  t.true((await limits.throttle('events', 'client-a', 5)).allowed);
});

test('requests at once on one instance are each given their own point: 30 of 50 admitted at a limit of 30', async (t) => {
  const limits = await limitsOn(t, testRedisPrefix());
  const answers = await Promise.all(Array.from({ length: 50 }, () => limits.throttle('hub', 'person|app', 30)));
  t.is(answers.filter((a) => a.allowed).length, 30);
  t.deepEqual(new Set(answers.filter((a) => a.allowed).map((a) => a.remaining)).size, 30, 'no point was handed out twice');
});

withRedis('two instances share one window: together they admit exactly the limit, however the requests fall between them', async (t) => {
  const prefix = testRedisPrefix();
  const [one, two] = [await limitsOn(t, prefix), await limitsOn(t, prefix)];
  // A steady client first (both instances take leases while far from the limit), then a burst on both at once.
  let admitted = 0;
  for (let i = 0; i < 40; i++) if ((await (i % 2 ? one : two).throttle('token', 'shared', 100)).allowed) admitted++;
  t.is(admitted, 40);
  const burst = await Promise.all(Array.from({ length: 160 }, (_, i) => (i % 3 ? one : two).throttle('token', 'shared', 100)));
  t.is(admitted + burst.filter((a) => a.allowed).length, 100);
});

withRedis('a client that calls often costs Redis one call per lease, not one per request', async (t) => {
  const redis = redisClient(t);
  const key = `${testRedisPrefix()}busy-client`;
  let calls = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, ...rest) => {
    if (command.args.some((arg) => String(arg) === key)) calls++;
    return send(command, ...rest);
  };
  const counts = new LeasedCounts(redis, 60);
  const points = [];
  for (let i = 0; i < 200; i++) points.push((await counts.count(key, 10_000)).consumed);
  t.deepEqual(points, Array.from({ length: 200 }, (_, i) => i + 1));
  t.true(calls >= 2 && calls <= 10, `${calls} Redis calls for 200 requests`);
  // What the window holds in Redis: every point handed out, and no more than one lease ahead.
  const held = Number(await redis.get(key));
  t.true(held >= 200 && held <= 200 + 64, `the counter holds ${held}`);
});

withRedis('a limit reached is refused from memory until the window ends, and a new window admits again', async (t) => {
  const prefix = testRedisPrefix();
  const counts = new LeasedCounts(redisClient(t), 1);
  const key = `${prefix}short`;
  const first = [];
  for (let i = 0; i < 5; i++) first.push((await counts.count(key, 3)).consumed);
  t.deepEqual(first, [1, 2, 3, 4, 5]);
  t.is(Number(await redisClient(t).get(key)), 3, 'refusals past the limit did not go to Redis');
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  t.is((await counts.count(key, 3)).consumed, 1, 'the next window starts from one');
  // A higher limit asked for in a window already refused is asked of Redis again.
  await counts.count(key, 3);
  await counts.count(key, 3);
  t.is((await counts.count(key, 3)).consumed, 4);
  // Redis counted 3 (the refusal was not a point): the next is the fourth, under the new limit.
  t.is((await counts.count(key, 10)).consumed, 4);
});

withRedis('with Redis out of reach the limits count in the instance\'s memory instead of letting everything through', async (t) => {
  const limits = await limitsOn(t, testRedisPrefix(), 'redis://127.0.0.1:1');
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await limits.throttle('events', 'service-x', 2));
  t.deepEqual(answers.map((a) => a.allowed), [true, true, false]);
});
