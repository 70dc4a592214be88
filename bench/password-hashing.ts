import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { hash as rsHash, verify as rsVerify, type Algorithm } from '@node-rs/argon2';
import { argon2Options } from '../src/identity/password-hashing.ts';
import { percentile } from './sign-in-loop.ts';

export interface HashingResult {
  library: string;
  /** Hashes per second with `concurrency` hashes in flight. */
  perSecond: number;
  concurrency: number;
  /** One hash on an idle machine, ms. */
  medianMs: number;
  p99Ms: number;
}

interface Hasher {
  library: string;
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

// The product's own parameters (OWASP: argon2id, m=19456 KiB, t=2, p=1), given to both libraries.
const { memoryCost, timeCost, parallelism } = argon2Options;
// Algorithm is an ambient const enum, which erasable TypeScript cannot read: 2 is its Argon2id.
const argon2id = 2 as Algorithm;

export const hashers: Hasher[] = [
  {
    library: 'argon2',
    hash: (password) => argon2.hash(password, argon2Options),
    verify: (hash, password) => argon2.verify(hash, password),
  },
  {
    library: '@node-rs/argon2',
    hash: (password) => rsHash(password, { algorithm: argon2id, memoryCost, timeCost, parallelism }),
    verify: (hash, password) => rsVerify(hash, password),
  },
];

/** `concurrency` hashes in flight for `seconds`; how many finished. */
async function hashFor(hasher: Hasher, seconds: number, concurrency: number): Promise<number> {
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await hasher.hash('correct horse battery staple');
        done++;
      }
    }),
  );
  return done;
}

/** Both libraries, one after the other, on an otherwise idle process; and whether their hashes interoperate. */
export async function compareHashing(seconds: number): Promise<{ results: HashingResult[]; interoperable: boolean }> {
  const concurrency = availableParallelism();
  // Interleaved in rounds, so a neighbour's load on a shared machine falls on both alike.
  const single = new Map<Hasher, number[]>(hashers.map((h) => [h, []]));
  const throughput = new Map<Hasher, { done: number; seconds: number }>(hashers.map((h) => [h, { done: 0, seconds: 0 }]));
  for (const hasher of hashers) await hasher.hash('warm-up');
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    for (const hasher of round % 2 ? [...hashers].reverse() : hashers) {
      for (let i = 0; i < 5; i++) {
        const begin = performance.now();
        await hasher.hash('correct horse battery staple');
        single.get(hasher)!.push(performance.now() - begin);
      }
      const begin = performance.now();
      const done = await hashFor(hasher, seconds / rounds, concurrency);
      const total = throughput.get(hasher)!;
      total.done += done;
      total.seconds += (performance.now() - begin) / 1000;
    }
  }
  const results = hashers.map((hasher) => {
    const times = single.get(hasher)!.sort((a, b) => a - b);
    const { done, seconds: spent } = throughput.get(hasher)!;
    return { library: hasher.library, perSecond: done / spent, concurrency, medianMs: percentile(times, 50), p99Ms: percentile(times, 99) };
  });
  const [a, b] = hashers as [Hasher, Hasher];
  const interoperable = (await b.verify(await a.hash('x'), 'x')) && (await a.verify(await b.hash('x'), 'x'));
  return { results, interoperable };
}
