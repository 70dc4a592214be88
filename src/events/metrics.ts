import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { outboxQueries } from '../queries/outbox.ts';

export type EventMetrics = ReturnType<typeof createEventMetrics>;

/** The event system's metrics, registered on the hub's registry (served at /metrics). */
export function createEventMetrics(registry: Registry, db: Knex) {
  const registers = [registry];
  return {
    relayLag: new Gauge({
      name: 'uniqverse_event_relay_lag_seconds',
      aggregator: 'max',
      help: 'Age of the oldest outbox event not yet published to the stream (0 when the relay is caught up).',
      registers,
      async collect() {
        const { lagSeconds } = await outboxQueries.backlog(db);
        this.set(lagSeconds);
      },
    }),
    relayBacklog: new Gauge({
      name: 'uniqverse_event_relay_backlog',
      aggregator: 'max',
      help: 'Outbox events waiting to be published.',
      registers,
      async collect() {
        const { waiting } = await outboxQueries.backlog(db);
        this.set(waiting);
      },
    }),
    relayed: new Counter({ name: 'uniqverse_events_relayed_total', help: 'Events this instance published to the stream.', registers }),
    publishDelay: new Histogram({
      name: 'uniqverse_event_publish_delay_seconds',
      help: 'Time from an event written to the outbox to its publication in the stream.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    liveConnections: new Gauge({ name: 'uniqverse_live_connections', help: 'Open live connections (/hub/events) on this instance.', labelNames: ['transport'], registers }),
    liveDropped: new Counter({ name: 'uniqverse_live_dropped_total', help: 'Live connections this instance closed because the client read too slowly.', labelNames: ['transport'], registers }),
    liveSent: new Counter({ name: 'uniqverse_live_events_sent_total', help: 'Events written to live connections.', registers }),
    webhookAttempts: new Counter({ name: 'uniqverse_webhook_attempts_total', help: 'Webhook delivery attempts by outcome (delivered, rejected: the receiver answered non-2xx, error: no answer) and service.', labelNames: ['outcome', 'service'], registers }),
    pushAttempts: new Counter({
      name: 'uniqverse_push_attempts_total',
      help: 'Push notifications by sender (webpush, apns, fcm) and outcome (sent; skipped: the device had a live connection open; gone: the push service said the subscription expired, and it was dropped; failed: tried again later; dead: given up after every retry).',
      labelNames: ['sender', 'outcome'],
      registers,
    }),
    taskRuns: new Counter({ name: 'uniqverse_event_task_runs_total', help: 'Runs of the hub\'s own event subscribers by consumer and outcome.', labelNames: ['consumer', 'outcome'], registers }),
  };
}
