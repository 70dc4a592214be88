import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import type { Config, DatabaseTarget } from '../platform/config.ts';
import { createSecretBox, type SecretBox } from '../platform/crypto/secret-box.ts';
import type { Logger } from '../platform/logger.ts';
import type { Limits } from '../platform/rate-limits.ts';
import type { EventBus } from './bus.ts';
import { entitlementExpirySweeper } from './entitlement-expiry.ts';
import { registerServiceHealthGauge, serviceHealthChecker } from './service-health-checker.ts';
import { peopleFactsOf, TaskWorker, taskEnqueuer, type EventConsumer } from './event-tasks.ts';
import { LiveHub } from './live-hub.ts';
import { RedisLivePresence, thisInstanceOnly } from './live-presence.ts';
import { MemoryBus } from './memory-bus.ts';
import { createEventMetrics, type EventMetrics } from './metrics.ts';
import { listenForAppends } from './outbox-listener.ts';
import { provisioning } from './provisioning.ts';
import { RedisBus } from './redis-bus.ts';
import { Relay } from './relay.ts';
import { activeWebhooks, enqueueWebhookDeliveries } from './webhook-routing.ts';
import { WebhookWorker } from './webhook-worker.ts';
import { webhookSecretPurpose } from './webhooks.ts';
import { loadVapidKeys } from '../devices/vapid-keys.ts';
import type { PushKind } from '../queries/push-subscriptions.ts';
import { apnsSender } from './apns-sender.ts';
import { fcmSender } from './fcm-sender.ts';
import { pushRouting } from './push-routing.ts';
import { trustedCas, type PushSender } from './push-sender.ts';
import { PushWorker } from './push-worker.ts';
import { webPushSender } from './web-push-sender.ts';

/** Push notifications as the pages and the API see them: the key a browser subscribes with, and the senders on. */
export interface PushSystem {
  worker: PushWorker;
  /** The VAPID public key (base64url); known once the event system has started. */
  publicKey(): string;
  /** Web Push always; APNs and FCM when configured. */
  senders: ReadonlySet<PushKind>;
}

/** Every moving part of the event stream in one instance, started and stopped together. */
export interface EventSystem {
  bus: EventBus;
  /** The relay of `db`'s outbox (with residency on, the directory's; each region has one more). */
  relay: Relay;
  live: LiveHub;
  tasks: TaskWorker;
  webhooks: WebhookWorker;
  push: PushSystem;
  metrics: EventMetrics;
  /** Seals webhook secrets (the CLI and the admin console create webhooks with it). */
  webhookBox: SecretBox;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface EventSystemOptions {
  config: Config;
  db: Knex;
  logger: Logger;
  registry: Registry;
  consumers?: readonly EventConsumer[];
  /** Erasure: the rate-limit counters named after a deleted person go when their user.deleted is relayed. */
  limits?: Pick<Limits, 'forget'>;
  /** Data residency: each region's database, whose outbox is relayed onto the same bus (`db` is then the directory's). */
  regionDbs?: ReadonlyArray<{ db: Knex; target: DatabaseTarget }>;
}

/** One database's outbox and what it feeds: the relay, the tasks, webhook and push deliveries, entitlement expiry. */
interface OutboxWorkers {
  relay: Relay;
  tasks: TaskWorker;
  webhooks: WebhookWorker;
  pushWorker: PushWorker;
  expirySweeper: ReturnType<typeof entitlementExpirySweeper>;
  listen(): Promise<() => Promise<void>>;
}

export function createEventSystem({ config, db, logger, registry, consumers = [provisioning, pushRouting({ issuer: config.issuer })], limits, regionDbs = [] }: EventSystemOptions): EventSystem {
  const metrics = createEventMetrics(registry, db);
  const bus: EventBus = config.redisUrl
    ? new RedisBus({ url: config.redisUrl, prefix: config.redisPrefix, maxLength: config.eventStreamLength, logger })
    : new MemoryBus(config.eventStreamLength);
  const webhookBox = createSecretBox(config.secret, webhookSecretPurpose);
  const ca = trustedCas(config.push.ca);
  const senders = new Map<PushKind, PushSender>();
  if (config.push.apns) senders.set('apns', apnsSender(config.push.apns, ca ? { ca } : {}));
  if (config.push.fcm) senders.set('fcm', fcmSender(config.push.fcm, ca ? { ca } : {}));
  let vapidPublicKey: string | null = null;
  const healthChecker = serviceHealthChecker({ db, logger, intervalMs: config.healthCheck.intervalSeconds * 1000, timeoutMs: config.healthCheck.timeoutSeconds * 1000 });
  registerServiceHealthGauge(registry, db);
  const enqueueTasks = taskEnqueuer(consumers);
  const { maxPerPerson, maxPerAddress, replayMaxEvents, replayMaxMinutes } = config.live;
  const presence = config.redisUrl ? new RedisLivePresence({ url: config.redisUrl, prefix: config.redisPrefix, logger }) : thisInstanceOnly;
  const live = new LiveHub({ bus, logger, metrics, presence, limits: { maxPerPerson, maxPerAddress, replayMaxEvents, replayWindowMs: replayMaxMinutes * 60_000 } });

  const outboxWorkers = (db: Knex, target: DatabaseTarget): OutboxWorkers => {
    // Pushes are queued by a subscriber task: its worker is nudged when tasks finish, and polls slowly otherwise.
    let nudgePush = () => {};
    const tasks = new TaskWorker({ db, consumers, logger, metrics, onFinished: () => nudgePush() });
    const webhooks = new WebhookWorker({ db, box: webhookBox, logger, metrics, timeoutMs: config.webhookTimeoutSeconds * 1000 });
    const expirySweeper = entitlementExpirySweeper({ db, logger, intervalMs: config.entitlementExpirySweepSeconds * 1000 });
    const webhooksAt = activeWebhooks();
    // What the round being committed gave the workers: only those with new work are woken (they poll anyway).
    let queued = { tasks: 0, deliveries: 0 };
    const relay = new Relay({
      db,
      bus,
      logger,
      metrics,
      peopleFacts: peopleFactsOf(consumers),
      async afterPublish(trx, rows, events, { webhookRoutingVersion, people }) {
        const seqs = rows.map((r) => Number(r.seq));
        const hooks = await webhooksAt(trx, webhookRoutingVersion);
        queued = { tasks: await enqueueTasks(trx, events, seqs, people), deliveries: await enqueueWebhookDeliveries(trx, rows, events, hooks) };
        // Erasure: the stream keeps nothing about a deleted person but the news that they are gone.
        for (const event of events) {
          if (event.type !== 'user.deleted' || !event.user_id) continue;
          await bus.forget(event.user_id, event.id);
          // The counters are limits, not records: failing to drop them must not hold the stream back (they expire within the hour).
          await limits?.forget(event.user_id).catch((error: unknown) => logger.warn({ err: error }, 'could not drop a deleted person\'s rate-limit counters'));
        }
      },
      onCommitted() {
        if (queued.tasks) tasks.nudge();
        if (queued.deliveries) webhooks.nudge();
      },
    });
    const pushWorker = new PushWorker({ db, senders, live, logger, metrics, pollMs: 2000 });
    nudgePush = () => pushWorker.nudge();
    return { relay, tasks, webhooks, pushWorker, expirySweeper, listen: () => listenForAppends(db, target, () => relay.nudge(), logger) };
  };
  const home = outboxWorkers(db, config.database);
  const regional = regionDbs.map(({ db: regionDb, target }) => outboxWorkers(regionDb, target));
  const everyOutbox = [home, ...regional];
  const { relay, tasks, webhooks, pushWorker } = home;
  const push: PushSystem = {
    worker: pushWorker,
    publicKey() {
      if (!vapidPublicKey) throw new Error('the VAPID key is read when the event system starts');
      return vapidPublicKey;
    },
    senders: new Set<PushKind>(['webpush', ...senders.keys()]),
  };
  let unlisten: Array<() => Promise<void>> = [];

  return {
    bus,
    relay,
    live,
    tasks,
    webhooks,
    push,
    metrics,
    webhookBox,
    async start() {
      const vapid = await loadVapidKeys(db, config.push, config.secret);
      vapidPublicKey = vapid.publicKey;
      senders.set('webpush', webPushSender({ vapid, allowPrivateEndpoints: config.push.allowPrivateEndpoints, ...(ca ? { ca } : {}) }));
      await live.start();
      for (const workers of everyOutbox) {
        unlisten.push(await workers.listen());
        workers.relay.start();
        workers.tasks.start();
        workers.webhooks.start();
        workers.pushWorker.start();
        workers.expirySweeper.start();
      }
      healthChecker.start();
    },
    async stop() {
      await live.stop();
      await healthChecker.stop();
      for (const stop of unlisten) await stop();
      unlisten = [];
      for (const workers of everyOutbox) {
        await workers.expirySweeper.stop();
        await workers.relay.stop();
        await workers.tasks.stop();
        await workers.webhooks.stop();
        await workers.pushWorker.stop();
      }
      await bus.close();
    },
  };
}
