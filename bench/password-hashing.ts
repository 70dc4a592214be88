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

async function measureOne(hasher: Hasher, seconds: number, concurrency: number): Promise<HashingResult> {
  await hasher.hash('warm-up');
  const single: number[] = [];
  const singleDeadline = performance.now() + Math.max(0.5, seconds / 2) * 1000;
  while (single.length < 5 || (performance.now() < singleDeadline && single.length < 200)) {
    const begin = performance.now();
    await hasher.hash('correct horse battery staple');
    single.push(performance.now() - begin);
  }
  single.sort((a, b) => a - b);

  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await hasher.hash('correct horse battery staple');
        done++;
      }
    }),
  );
  return {
    library: hasher.library,
    perSecond: done / ((performance.now() - started) / 1000),
    concurrency,
    medianMs: percentile(single, 50),
    p99Ms: percentile(single, 99),
  };
}

/** Both libraries, one after the other, on an otherwise idle process; and whether their hashes interoperate. */
export async function compareHashing(seconds: number): Promise<{ results: HashingResult[]; interoperable: boolean }> {
  const concurrency = availableParallelism();
  const results: HashingResult[] = [];
  for (const hasher of hashers) results.push(await measureOne(hasher, seconds, concurrency));
  const [a, b] = hashers as [Hasher, Hasher];
  const interoperable = (await b.verify(await a.hash('x'), 'x')) && (await a.verify(await b.hash('x'), 'x'));
  return { results, interoperable };
}
