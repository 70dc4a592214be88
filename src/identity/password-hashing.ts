import { availableParallelism } from 'node:os';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { AppError } from '../platform/errors.ts';

/**
 * OWASP's argon2id baseline: m=19456 KiB, t=2, p=1. Hashed with @node-rs/argon2, which the
 * benchmark measured 1.3–1.8× faster than the `argon2` package at these parameters (docs/benchmarks.md);
 * both write and verify the same PHC strings, so stored hashes need no migration.
 */
// algorithm 2 is Argon2id (a const enum in @node-rs/argon2's types, which type stripping cannot read).
export const argon2Options = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashing is the costliest thing the hub does. At most one hash per core runs at once and a
 * bounded queue waits; past that a login storm gets 503 instead of starving the token endpoint.
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private dummyHash: Promise<string> | null = null;

  constructor({ maxConcurrent = availableParallelism(), maxQueued = 64 }: { maxConcurrent?: number; maxQueued?: number } = {}) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) throw new AppError('busy', 'Too many sign-ins at once. Try again in a few seconds.', { retryAfter: 2 });
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Hashes running now (at most one per core). */
  get runningHashes(): number {
    return this.running;
  }

  /** Hashes waiting for a slot. */
  get queuedHashes(): number {
    return this.waiting.length;
  }

  /** Throws the same 503 the queue would, without queueing: for callers that want to refuse early. */
  assertNotSaturated(): void {
    if (this.running >= this.maxConcurrent && this.waiting.length >= this.maxQueued) {
      throw new AppError('busy', 'Too many sign-ins at once. Try again in a few seconds.', { retryAfter: 2 });
    }
  }

  hash(password: string): Promise<string> {
    return this.slot(() => argon2Hash(password, argon2Options));
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.slot(() => argon2Verify(hash, password).catch(() => false));
  }

  /** Same work as a real verify, for an unknown account, so its answer takes the same time. */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= argon2Hash('uniqverse-timing-equaliser', argon2Options);
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
