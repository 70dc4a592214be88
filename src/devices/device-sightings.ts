import type { Knex } from 'knex';
import { deviceQueries } from '../queries/device-apps.ts';

const minuteMs = 60_000;

/**
 * A device's "last seen", moved by its token's use at most once a minute. The database keeps the
 * rule across instances (the update skips a device seen in the last minute); this instance
 * remembers what it wrote, so a busy device costs one statement a minute, not one per call.
 */
export class DeviceSightings {
  private readonly db: Knex;
  private readonly written = new Map<string, number>();
  private readonly maxRemembered: number;

  constructor(db: Knex, maxRemembered = 50_000) {
    this.db = db;
    this.maxRemembered = maxRemembered;
  }

  /** The person used a token of this grant now. */
  async seen(userId: string, grantRef: string, now = Date.now()): Promise<void> {
    const key = `${userId} ${grantRef}`;
    const last = this.written.get(key);
    if (last !== undefined && now - last < minuteMs) return;
    if (this.written.size >= this.maxRemembered) this.written.clear();
    this.written.set(key, now);
    await deviceQueries.seen(this.db, userId, grantRef);
  }

  /** A device was just registered with this grant: its uses from now on are its own (the first one after a minute is written). */
  forget(userId: string, grantRef: string): void {
    this.written.delete(`${userId} ${grantRef}`);
  }
}
