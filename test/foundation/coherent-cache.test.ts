import test from 'ava';
import { CoherentCache } from '../../src/platform/cache.ts';

test('the coherent cache keeps nothing unless live, and never a value read before a drop or clear of its key', async (t) => {
  const cache = new CoherentCache<string>(60_000, { maxEntries: 3 });
  t.is(await cache.through('a', async () => 'A'), 'A');
  t.is(cache.peek('a'), undefined, 'not live: nothing kept');
  cache.setLive(true);
  await cache.through('a', async () => 'A');
  t.is(cache.peek('a'), 'A');
  // A drop of the key during the read: not kept. A drop of another key: kept.
  cache.drop('a');
  await cache.through('a', async () => { cache.drop('a'); return 'old'; });
  t.is(cache.peek('a'), undefined);
  await cache.through('a', async () => { cache.drop('b'); return 'A2'; });
  t.is(cache.peek('a'), 'A2');
  // A clear during the read: not kept; a read begun after the clear: kept.
  cache.clear();
  await cache.through('a', async () => { cache.clear(); return 'old'; });
  t.is(cache.peek('a'), undefined);
  await cache.through('a', async () => 'A3');
  t.is(cache.peek('a'), 'A3');
  // Forgotten drops refuse the reads begun before them.
  const mark = cache.mark();
  cache.drop('x'); cache.drop('y'); cache.drop('z'); cache.drop('w');
  cache.put(['q'], 'Q', mark);
  t.is(cache.peek('q'), undefined);
  cache.put(['q'], 'Q', cache.mark());
  t.is(cache.peek('q'), 'Q');
});
