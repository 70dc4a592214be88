import type { Knex } from 'knex';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import type { Logger } from '../platform/logger.ts';
import type { EventMetrics } from './metrics.ts';
import { LeasedWorker } from './leased-worker.ts';
import { webhookQueries, type LeasedDelivery } from '../queries/webhooks.ts';
import { webhookHeaders } from './webhook-signing.ts';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { inSpan, withTraceHeaders } from '../platform/spans.ts';

export interface WebhookWorkerOptions {
  db: Knex;
  box: SecretBox;
  logger: Logger;
  metrics: EventMetrics;
  /** A receiver that has not answered by then has failed this attempt. */
  timeoutMs: number;
  /** Deliveries in flight at once from this instance. */
  concurrency?: number;
  pollMs?: number;
}

/** Where a delivery goes, for its span: the receiver's host at most, as its path or query may carry a token of its own. */
function receiverOf(url: string): Record<string, string | number> {
  if (!URL.canParse(url)) return {};
  const { protocol, hostname, port } = new URL(url);
  return { 'url.scheme': protocol.slice(0, -1), 'server.address': hostname, 'server.port': Number(port || (protocol === 'https:' ? 443 : 80)) };
}

/**
 * Delivers webhooks from every instance at once: each leases due deliveries in the database
 * (SKIP LOCKED), so no two instances send the same one, and a lease left by an instance that died
 * runs out after `timeout + 20 s` and is taken over by another (LeasedWorker).
 */
export class WebhookWorker extends LeasedWorker<LeasedDelivery> {
  private readonly options: WebhookWorkerOptions;

  constructor(options: WebhookWorkerOptions) {
    super({ logger: options.logger, timeoutMs: options.timeoutMs, ...(options.concurrency ? { concurrency: options.concurrency } : {}), ...(options.pollMs ? { pollMs: options.pollMs } : {}), failure: 'leasing webhook deliveries failed' });
    this.options = options;
  }

  protected lease(free: number): Promise<LeasedDelivery[]> {
    return webhookQueries.lease(this.options.db, this.owner, this.leaseSeconds, free);
  }

  /** Each attempt is a trace of its own (the event was queued long before), and the receiver gets its `traceparent`. */
  protected deliver(delivery: LeasedDelivery): Promise<void> {
    const attributes = { 'http.request.method': 'POST', ...receiverOf(delivery.url), 'webhook.id': delivery.webhook_id, 'webhook.delivery.id': delivery.id, 'webhook.event.id': delivery.event_id, 'webhook.attempt': delivery.attempts };
    return inSpan('webhook POST', { root: true, kind: SpanKind.CLIENT, attributes }, (span) => this.attempt(delivery, span));
  }

  private async attempt(delivery: LeasedDelivery, span: Span): Promise<void> {
    const { db, box, logger, metrics } = this.options;
    const body = JSON.stringify(delivery.payload);
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    await this.withDeadline(async (signal, cancelDeadline) => {
      try {
        const headers = withTraceHeaders({ 'content-type': 'application/json', 'user-agent': 'UniQVerse-Webhooks/1', ...webhookHeaders(box.open(delivery.secret_sealed), delivery.event_id, body) });
        const response = await fetch(delivery.url, { method: 'POST', headers, body, redirect: 'manual', signal });
        // The answer is in: its status decides, whatever becomes of the body.
        cancelDeadline();
        status = response.status;
        await response.body?.cancel().catch(() => undefined);
        span.setAttribute('http.response.status_code', status);
        if (status < 200 || status >= 300) error = `receiver answered ${status}`;
      } catch (caught) {
        error = signal.aborted ? (signal.reason as Error).message : ((caught as Error).cause as Error | undefined)?.message ?? (caught as Error).message;
      }
    });
    if (error !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    const outcome = { status_code: status, error, duration_ms: Date.now() - started };
    try {
      if (await webhookQueries.settle(db, delivery, outcome)) {
        metrics.webhookAttempts.inc({ outcome: error === null ? 'delivered' : status === null ? 'error' : 'rejected', service: delivery.service });
      } else {
        logger.warn({ delivery: delivery.id, attempt: delivery.attempts }, 'a webhook attempt outlived its lease; the attempt that took it over records the outcome');
      }
    } catch (recordError) {
      // The lease runs out and another try follows: at least once, never lost.
      logger.error({ err: recordError, delivery: delivery.id }, 'could not record a webhook attempt');
    }
    // The URL's path or query may carry the receiver's own token: its origin at most.
    if (error !== null) logger.info({ delivery: delivery.id, webhook: delivery.webhook_id, origin: URL.canParse(delivery.url) ? new URL(delivery.url).origin : null, attempt: delivery.attempts, error }, 'webhook delivery failed; will retry');
  }
}
