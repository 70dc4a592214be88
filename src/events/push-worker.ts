import type { Knex } from 'knex';
import { notificationSettingsOf } from '../devices/notification-settings.ts';
import { dropExpiredSubscription } from '../devices/push-subscriptions.ts';
import type { Logger } from '../platform/logger.ts';
import { pushDeliveryQueries, type LeasedPush } from '../queries/push-deliveries.ts';
import { pushSubscriptionQueries, type PushKind } from '../queries/push-subscriptions.ts';
import type { EventMetrics } from './metrics.ts';
import { LeasedWorker } from './leased-worker.ts';
import { notificationKindOfType } from './push-routing.ts';
import type { PushOutcome, PushSender } from './push-sender.ts';

export interface PushWorkerOptions {
  db: Knex;
  senders: ReadonlyMap<PushKind, PushSender>;
  /** Asked just before a push goes: a device with a live connection open hears of the event there instead. */
  live: { hasConnection(userId: string, grantRef: string | null): Promise<boolean> };
  logger: Logger;
  metrics: EventMetrics;
  timeoutMs?: number;
  concurrency?: number;
  pollMs?: number;
}

/**
 * Sends queued pushes from every instance at once, each leasing due deliveries (SKIP LOCKED,
 * LeasedWorker). A push whose device is connected live is skipped; a subscription the push service
 * calls gone is dropped (audited as the system); any other failure is tried again with backoff,
 * and after the last try the delivery is kept as dead and logged as an error: never lost without a
 * word.
 */
export class PushWorker extends LeasedWorker<LeasedPush> {
  private readonly options: PushWorkerOptions;
  private rounds = 0;

  constructor(options: PushWorkerOptions) {
    super({ logger: options.logger, timeoutMs: options.timeoutMs ?? 10_000, ...(options.concurrency ? { concurrency: options.concurrency } : {}), ...(options.pollMs ? { pollMs: options.pollMs } : {}), failure: 'leasing push deliveries failed' });
    this.options = options;
  }

  override async stop(): Promise<void> {
    await super.stop();
    for (const sender of this.options.senders.values()) sender.close?.();
  }

  /** Now and then, what is finished and old goes. */
  protected override async beforeRound(): Promise<void> {
    if (this.rounds++ % 2000 === 0) await pushDeliveryQueries.deleteOld(this.options.db);
  }

  protected lease(free: number): Promise<LeasedPush[]> {
    return pushDeliveryQueries.lease(this.options.db, this.owner, this.leaseSeconds, free);
  }

  protected async deliver(delivery: LeasedPush): Promise<void> {
    const { db, senders, live, logger, metrics } = this.options;
    const count = (outcome: string) => metrics.pushAttempts.inc({ sender: delivery.kind, outcome });
    // Switched off, its device removed, or its kind turned off since the push was queued (held by quiet hours, say): it is not sent.
    if (!delivery.enabled || delivery.device_revoked_at || !(await notificationSettingsOf(db, delivery.user_id)).kinds.includes(notificationKindOfType(delivery.event_type))) {
      if (await pushDeliveryQueries.finish(db, delivery, 'skipped')) count('skipped');
      return;
    }
    if (await live.hasConnection(delivery.user_id, delivery.device_id === null ? null : (delivery.grant_ref ?? `device:${delivery.device_id}`))) {
      if (await pushDeliveryQueries.finish(db, delivery, 'skipped')) count('skipped');
      return;
    }
    const sender = senders.get(delivery.kind);
    const outcome: PushOutcome = sender ? await this.attempt(sender, delivery) : { result: 'failed', status: null, error: `${delivery.kind} is not configured on this hub` };
    if (outcome.result === 'sent') {
      await db.transaction(async (trx) => {
        if (await pushDeliveryQueries.finish(trx, delivery, 'sent')) await pushSubscriptionQueries.succeeded(trx, delivery.subscription_id);
      });
      count('sent');
      return;
    }
    if (outcome.result === 'gone') {
      const dropped = await db.transaction(async (trx) => {
        if (!(await pushDeliveryQueries.holds(trx, delivery))) return false;
        await dropExpiredSubscription(trx, { id: delivery.subscription_id, user_id: delivery.user_id, kind: delivery.kind, device_id: delivery.device_id, label: delivery.label }, outcome.status);
        return true;
      });
      if (dropped) {
        count('gone');
        logger.info({ subscription: delivery.subscription_id, sender: delivery.kind, status: outcome.status }, 'push subscription expired; dropped');
      }
      return;
    }
    const status = await db.transaction(async (trx) => {
      const next = await pushDeliveryQueries.retryLater(trx, delivery, outcome.error);
      if (next) await pushSubscriptionQueries.failed(trx, delivery.subscription_id);
      return next;
    });
    if (status === 'dead') {
      count('dead');
      logger.error({ delivery: delivery.id, subscription: delivery.subscription_id, sender: delivery.kind, attempts: delivery.attempts, error: outcome.error }, 'push delivery given up after its last retry');
    } else if (status) {
      count('failed');
      logger.info({ delivery: delivery.id, sender: delivery.kind, attempt: delivery.attempts, error: outcome.error }, 'push delivery failed; will retry');
    }
  }

  private attempt(sender: PushSender, delivery: LeasedPush): Promise<PushOutcome> {
    return this.withDeadline((signal) => sender.send({ endpoint: delivery.endpoint, p256dh: delivery.p256dh, auth: delivery.auth }, delivery.payload, signal));
  }
}
