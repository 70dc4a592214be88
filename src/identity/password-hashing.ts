import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { AppError } from '../errors.ts';

/** OWASP's argon2id baseline: m=19456 KiB, t=2, p=1. */
export const argon2Options = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

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

  hash(password: string): Promise<string> {
    return this.slot(() => argon2.hash(password, argon2Options));
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.slot(() => argon2.verify(hash, password).catch(() => false));
  }

  /** Same work as a real verify, for an unknown account, so its answer takes the same time. */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= argon2.hash('uniqverse-timing-equaliser', argon2Options);
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
