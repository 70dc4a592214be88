import test from 'ava';
import { GroupCommit } from '../../src/db/group-commit.ts';

/** A write function that records its batches and answers when told to. */
function recorder(fail: (item: string) => boolean = () => false) {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  let held = false;
  const write = async (items: string[]) => {
    batches.push([...items]);
    if (held) await new Promise<void>((release) => gates.push(release));
    if (items.some(fail)) throw new Error(`cannot write ${items.find(fail)}`);
    return items.map((item) => item.toUpperCase());
  };
  return {
    batches,
    write,
    hold: () => void (held = true),
    releaseAll: () => {
      held = false;
      gates.splice(0).forEach((release) => release());
    },
  };
}

test('writes submitted in one turn go in one batch, and each caller gets its own result', async (t) => {
  const r = recorder();
  const group = new GroupCommit({ write: r.write });
  t.deepEqual(await Promise.all(['a', 'b', 'c'].map((item) => group.submit(item))), ['A', 'B', 'C']);
  t.deepEqual(r.batches, [['a', 'b', 'c']]);
});

test('a lone write goes at once; writes that come while batches are in flight wait and go together', async (t) => {
  const r = recorder();
  r.hold();
  const group = new GroupCommit({ write: r.write, maxInFlight: 1 });
  const first = group.submit('a');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(r.batches, [['a']], 'the first write did not wait for company');
  const later = ['b', 'c', 'd'].map((item) => group.submit(item));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(r.batches.length, 1, 'nothing else is sent while the one batch allowed is in flight');
  r.releaseAll();
  t.deepEqual(await Promise.all([first, ...later]), ['A', 'B', 'C', 'D']);
  t.deepEqual(r.batches, [['a'], ['b', 'c', 'd']]);
});

test('two writes with the same key never share a batch, and keep their order', async (t) => {
  const r = recorder();
  const group = new GroupCommit({ write: r.write, keyOf: (item: string) => item[0]!, maxInFlight: 1 });
  await Promise.all(['x1', 'y1', 'x2', 'z1', 'x3'].map((item) => group.submit(item)));
  t.deepEqual(r.batches, [['x1', 'y1', 'z1'], ['x2'], ['x3']]);
});

test('a failed batch is retried one write at a time, so only the write that cannot be made fails', async (t) => {
  const r = recorder((item) => item === 'bad');
  const group = new GroupCommit({ write: r.write });
  const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => group.submit(item)));
  t.deepEqual(
    results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message)),
    ['A', 'cannot write bad', 'C'],
  );
  t.deepEqual(r.batches, [['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
});

test('without retryAlone a failed batch fails every caller in it, and nothing is sent twice', async (t) => {
  const r = recorder((item) => item === 'bad');
  const group = new GroupCommit({ write: r.write, retryAlone: false });
  const results = await Promise.allSettled(['a', 'bad'].map((item) => group.submit(item)));
  t.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
  t.deepEqual(r.batches, [['a', 'bad']]);
  t.is(await group.submit('after'), 'AFTER', 'the next write goes on as usual');
});

test('batches are at most maxBatch long', async (t) => {
  const r = recorder();
  const group = new GroupCommit({ write: r.write, maxBatch: 2, maxInFlight: 1 });
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((item) => group.submit(item)));
  t.deepEqual(r.batches, [['a', 'b'], ['c', 'd'], ['e']]);
});
