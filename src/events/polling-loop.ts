import type { Logger } from '../platform/logger.ts';

export interface PollingLoopOptions {
  /** One round; true when it found work, so the next round runs at once. `nudged`: someone asked for it (work is likely). */
  round: (nudged: boolean) => Promise<boolean>;
  /** Wait between rounds that found nothing. */
  pollMs: number;
  /** Wait after a round that failed (default: pollMs). */
  failureDelayMs?: number;
  logger: Logger;
  /** What the log says when a round fails. */
  failure: string;
}

/**
 * The background loop of the relay and the workers: a round, again at once while there is work or
 * someone nudged (a NOTIFY, a finished task), otherwise after `pollMs`. A failed round is logged
 * and tried again later. `stop` wakes the loop and waits for its round to end.
 */
export class PollingLoop {
  private readonly options: PollingLoopOptions;
  private started = false;
  private wake: (() => void) | null = null;
  private nudged = false;
  private done: Promise<void> = Promise.resolve();

  constructor(options: PollingLoopOptions) {
    this.options = options;
  }

  get running(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.nudge();
    await this.done;
  }

  /** Runs the next round now rather than at the next poll. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    const { round, pollMs, failureDelayMs, logger, failure } = this.options;
    while (this.started) {
      const nudged = this.nudged;
      this.nudged = false;
      let busy: boolean;
      try {
        busy = await round(nudged);
      } catch (error) {
        logger.error({ err: error }, failure);
        await this.sleep(failureDelayMs ?? pollMs);
        continue;
      }
      if (busy || this.nudged) continue;
      await this.sleep(pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => {
        this.wake = null;
        done();
      };
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = wake;
    });
  }
}
