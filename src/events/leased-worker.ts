import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logger.ts';
import { abortAfter } from './loop-aware-deadline.ts';
import { PollingLoop } from './polling-loop.ts';

/** How much longer than one attempt's timeout a lease lasts. */
export const leaseMarginSeconds = 20;

export interface LeasedWorkerOptions {
  logger: Logger;
  /** One attempt that has not finished by then has failed. */
  timeoutMs: number;
  /** Attempts in flight at once from this instance. */
  concurrency?: number;
  pollMs?: number;
  /** The log line when leasing fails (the loop tries again). */
  failure: string;
}

/**
 * What the webhook and push workers share: every instance leases due deliveries in the database
 * (SKIP LOCKED, under `owner`), so no two send the same one, and a lease left by an instance that
 * died runs out after `timeout + 20 s` and another takes it over. A finished delivery nudges the
 * loop, since the next one may be due now. `stop` stops leasing, cuts the attempts in flight
 * (each is recorded as failed and tried again later) and waits for them.
 */
export abstract class LeasedWorker<Delivery extends { id: string | number }> {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  protected readonly leaseSeconds: number;
  protected readonly timeoutMs: number;
  protected readonly logger: Logger;
  private readonly concurrency: number;
  private readonly loop: PollingLoop;
  private readonly inFlight = new Set<AbortController>();
  private active = 0;
  private idle: (() => void) | null = null;

  constructor(options: LeasedWorkerOptions) {
    this.timeoutMs = options.timeoutMs;
    this.leaseSeconds = Math.ceil(options.timeoutMs / 1000) + leaseMarginSeconds;
    this.logger = options.logger;
    this.concurrency = options.concurrency ?? 32;
    this.loop = new PollingLoop({
      round: async () => {
        await this.fill();
        return false;
      },
      pollMs: options.pollMs ?? 500,
      logger: options.logger,
      failure: options.failure,
    });
  }

  /** Leases up to `free` due deliveries for this worker's owner. */
  protected abstract lease(free: number): Promise<Delivery[]>;

  /** Sends one and records what became of it; a rejection is logged and the lease runs out (it is tried again). */
  protected abstract deliver(delivery: Delivery): Promise<void>;

  /** Runs before each round's lease (housekeeping). */
  protected async beforeRound(): Promise<void> {}

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    for (const controller of this.inFlight) controller.abort(new Error('cut short: the hub is stopping'));
    await this.loop.stop();
    if (this.active) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  nudge(): void {
    this.loop.nudge();
  }

  /**
   * Runs one attempt with a signal that aborts it after the timeout: however late the event loop
   * lets the deadline fire, the attempt ends well inside its lease. `cancel` ends the deadline
   * early (an answer is in, whatever becomes of its body).
   */
  protected async withDeadline<T>(attempt: (signal: AbortSignal, cancel: () => void) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const cancel = abortAfter(controller, this.timeoutMs, (this.leaseSeconds - leaseMarginSeconds / 2) * 1000 - this.timeoutMs, () => new Error(`timed out (${this.timeoutMs} ms)`));
    this.inFlight.add(controller);
    try {
      return await attempt(controller.signal, cancel);
    } finally {
      cancel();
      this.inFlight.delete(controller);
    }
  }

  /** Leases what is due into the free slots. */
  private async fill(): Promise<void> {
    await this.beforeRound();
    const free = this.concurrency - this.active;
    if (free <= 0) return;
    for (const delivery of await this.lease(free)) {
      this.active++;
      void this.deliver(delivery)
        .catch((error: unknown) => this.logger.error({ err: error, delivery: delivery.id }, 'could not record a delivery attempt; its lease runs out and it is tried again'))
        .finally(() => {
          this.active--;
          if (!this.active) this.idle?.();
          this.nudge();
        });
    }
  }
}
