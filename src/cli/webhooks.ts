import { stringList, requiredString, stringValue, UsageError, type Command } from './command.ts';

/** "--events a,b --events c" → [a, b, c]. */
function eventList(values: Parameters<Command['run']>[1]): string[] | undefined {
  const list = stringList(values, 'events').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

export const webhooksCreate: Command = {
  name: 'webhooks create',
  summary: 'Send a service the events it may receive, signed (Standard Webhooks), to a URL.',
  usage: 'webhooks create --service S --url U [--events a,b] [--json]',
  options: { service: { type: 'string' }, url: { type: 'string' }, events: { type: 'string', multiple: true } },
  required: ['service', 'url'],
  optionHelp: [
    { flag: '--service S', text: 'Slug of the service the webhook belongs to.' },
    { flag: '--url U', text: 'Where to POST each event (http or https).' },
    { flag: '--events a,b', text: 'Only these event types; "email.*" takes a whole namespace. Default: every event the service may receive.' },
  ],
  notes: [
    'A service receives its own events (its entitlements, what it posted) and the user.* and session.* events of people who hold an entitlement or a grant with it.',
    'The secret (whsec_…) is shown once. Verify each request with a Standard Webhooks library: headers webhook-id, webhook-timestamp, webhook-signature. See docs/events.md.',
  ],
  examples: ['uniqverse webhooks create --service vezepyemail --url https://mail.example.com/hooks/veze --events user.*,email.* --json'],
  async run(ctx, values) {
    const { createSecretBox } = await import('../platform/crypto/secret-box.ts');
    const { createWebhook, webhookSecretPurpose } = await import('../events/webhooks.ts');
    const { audited, cliActor, entryBy } = await import('../audit/actors.ts');
    const input = {
      service: requiredString(values, 'service'),
      url: requiredString(values, 'url'),
      ...(eventList(values) ? { events: eventList(values) } : {}),
    };
    const created = await audited(
      ctx.db,
      (trx) => createWebhook(trx, createSecretBox(ctx.config.secret, webhookSecretPurpose), input),
      // Not the secret, and only the URL's origin: a path or query may carry the receiver's own token.
      (hook) => entryBy(cliActor(), { action: 'webhook.created', data: { webhook_id: hook.id, service: hook.service, url_origin: new URL(hook.url).origin, events: hook.events } }),
    );
    return {
      json: { id: created.id, secret: created.secret, service: created.service, url: created.url, events: created.events },
      text: [
        `Webhook ${created.id} for ${created.service} → ${created.url} (${created.events ? created.events.join(', ') : 'every event it may receive'}).`,
        `  secret: ${created.secret}`,
        'Keep the secret: it is not shown again. The service verifies each delivery with it (docs/events.md).',
      ].join('\n'),
    };
  },
};

export const webhooksList: Command = {
  name: 'webhooks list',
  summary: 'List webhooks, with how many deliveries wait and how many are dead.',
  usage: 'webhooks list [--service S] [--json]',
  options: { service: { type: 'string' } },
  optionHelp: [{ flag: '--service S', text: 'Only this service\'s webhooks.' }],
  examples: ['uniqverse webhooks list --service vezepyemail'],
  async run(ctx, values) {
    const { listWebhooks } = await import('../events/webhooks.ts');
    const service = stringValue(values, 'service');
    const hooks = await listWebhooks(ctx.db, service ? { service } : {});
    return {
      json: { webhooks: hooks },
      text: hooks.length
        ? hooks.map((h) => `${h.id}  ${h.service}  ${h.url}  ${h.status}  pending ${h.pending}  dead ${h.dead}${h.events ? `  [${h.events.join(', ')}]` : ''}`).join('\n')
        : 'No webhooks.',
    };
  },
};

export const webhooksDeliveries: Command = {
  name: 'webhooks deliveries',
  summary: 'Delivery history, newest first.',
  usage: 'webhooks deliveries [--webhook ID] [--service S] [--status pending|delivered|dead] [--limit N] [--json]',
  options: { webhook: { type: 'string' }, service: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' } },
  optionHelp: [
    { flag: '--webhook ID', text: 'Only this webhook.' },
    { flag: '--service S', text: 'Only this service\'s webhooks.' },
    { flag: '--status S', text: 'pending, delivered or dead.' },
    { flag: '--limit N', text: 'How many (1 to 200, default 50).' },
  ],
  examples: ['uniqverse webhooks deliveries --status dead'],
  async run(ctx, values) {
    const { listDeliveries } = await import('../events/webhooks.ts');
    const page = await listDeliveries(ctx.db, {
      webhook: stringValue(values, 'webhook'),
      service: stringValue(values, 'service'),
      status: stringValue(values, 'status') as 'pending' | 'delivered' | 'dead' | undefined,
      limit: stringValue(values, 'limit') ?? 50,
    });
    const items = page.items.map(({ payload, ...rest }) => (void payload, rest));
    return {
      json: { deliveries: items, next: page.next },
      text: items.length
        ? items.map((d) => `${d.id}  ${d.created_at}  ${d.service}  ${d.event_type}  ${d.status}  attempts ${d.attempts}${d.last_error ? `  (${d.last_error})` : ''}`).join('\n')
        : 'No deliveries.',
    };
  },
};

export const webhooksReplay: Command = {
  name: 'webhooks replay',
  summary: 'Send a delivery again (--delivery), or every dead delivery of a webhook (--webhook).',
  usage: 'webhooks replay (--delivery ID | --webhook ID) [--json]',
  options: { delivery: { type: 'string' }, webhook: { type: 'string' } },
  optionHelp: [
    { flag: '--delivery ID', text: 'One delivery (its number from "webhooks deliveries").' },
    { flag: '--webhook ID', text: 'Every dead delivery of this webhook.' },
  ],
  check(values) {
    if (Boolean(values.delivery) === Boolean(values.webhook)) throw new UsageError('give --delivery or --webhook');
    if (values.delivery !== undefined && !/^\d+$/.test(String(values.delivery))) throw new UsageError('--delivery is a delivery number');
  },
  examples: ['uniqverse webhooks replay --webhook 3f0c…', 'uniqverse webhooks replay --delivery 1234'],
  async run(ctx, values) {
    const { replayDelivery, replayDeadDeliveries } = await import('../events/webhooks.ts');
    const { audited, cliActor, entryBy } = await import('../audit/actors.ts');
    const delivery = stringValue(values, 'delivery');
    if (delivery) {
      const id = Number(delivery);
      await audited(ctx.db, (trx) => replayDelivery(trx, id), () => entryBy(cliActor(), { action: 'webhook.replayed', data: { delivery_id: id, deliveries: 1 } }));
      return { json: { replayed: 1 }, text: `Delivery ${delivery} will be sent again.` };
    }
    const webhook = requiredString(values, 'webhook');
    const count = await audited(ctx.db, (trx) => replayDeadDeliveries(trx, webhook), (n) => entryBy(cliActor(), { action: 'webhook.replayed', data: { webhook_id: webhook, deliveries: n } }));
    return { json: { replayed: count }, text: `${count} dead deliveries will be sent again.` };
  },
};

/** webhooks disable | enable | delete --webhook ID: one act on one webhook, audited as the operator. */
function webhookAct(verb: 'disable' | 'enable' | 'delete', summary: string): Command {
  return {
    name: `webhooks ${verb}`,
    summary,
    usage: `webhooks ${verb} --webhook ID [--json]`,
    options: { webhook: { type: 'string' } },
    required: ['webhook'],
    optionHelp: [{ flag: '--webhook ID', text: 'The webhook (its id from "webhooks list").' }],
    examples: [`uniqverse webhooks ${verb} --webhook 3f0c…`],
    async run(ctx, values) {
      const { deleteWebhook, setWebhookEnabled } = await import('../events/webhooks.ts');
      const { cliActor } = await import('../audit/actors.ts');
      const id = requiredString(values, 'webhook');
      if (verb === 'delete') await deleteWebhook(ctx.db, id, cliActor());
      else await setWebhookEnabled(ctx.db, id, verb === 'enable', cliActor());
      const done = { disable: 'disabled: deliveries wait until it is enabled again', enable: 'enabled', delete: 'deleted, with its delivery history' }[verb];
      return { json: { id, [verb === 'delete' ? 'deleted' : 'status']: verb === 'delete' ? true : verb === 'enable' ? 'active' : 'disabled' }, text: `Webhook ${id} ${done}.` };
    },
  };
}

export const webhooksDisable = webhookAct('disable', 'Stop deliveries to a webhook (what is pending waits).');
export const webhooksEnable = webhookAct('enable', 'Resume deliveries to a disabled webhook.');
export const webhooksDelete = webhookAct('delete', 'Delete a webhook and its delivery history.');

export const webhookCommands: readonly Command[] = [webhooksCreate, webhooksList, webhooksDeliveries, webhooksReplay, webhooksDisable, webhooksEnable, webhooksDelete];
