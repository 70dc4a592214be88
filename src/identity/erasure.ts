import type { Knex } from 'knex';
import { destroyAuditKey, openAuditRows } from '../audit/personal-seal.ts';
import { withoutPersonalFields } from '../platform/personal-fields.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { emailTokenQueries } from '../queries/email-tokens.ts';
import { taskQueries } from '../queries/event-tasks.ts';
import { modelQueries } from '../queries/oidc-models.ts';
import { outboxQueries } from '../queries/outbox.ts';
import type { UserRow } from '../queries/users.ts';
import { webhookQueries } from '../queries/webhooks.ts';

/** What identifies a deleted person in what the hub wrote: every address they had, and their name. */
export interface ErasedPerson {
  id: string;
  emails: string[];
  name: string | null;
}

const addressKeys = ['email', 'old_email', 'new_email'];

/**
 * Every address the person had: the account's, the ones their email tokens went to, and the ones
 * their audit entries name (an email change's old and new address), read before their audit key
 * is destroyed.
 */
async function addressesOf(trx: Knex, user: Pick<UserRow, 'id' | 'email'>): Promise<string[]> {
  const addresses = new Set([user.email.toLowerCase()]);
  for (const address of await emailTokenQueries.addressesOf(trx, user.id)) addresses.add(address.toLowerCase());
  for (const row of await openAuditRows(trx, await auditQueries.forExport(trx, user.id))) {
    for (const key of addressKeys) {
      const value = (row.data as Record<string, unknown>)[key];
      if (typeof value === 'string' && value.includes('@')) addresses.add(value.toLowerCase());
    }
  }
  return [...addresses];
}

const changed = (before: unknown, after: unknown) => JSON.stringify(before) !== JSON.stringify(after);

/**
 * Erasure (GDPR Art. 17), in the deletion's transaction, before the user row goes: rewrites every
 * copy of the person's details the hub keeps outside the tables that cascade with the user row
 * (older events in the outbox, subscriber tasks, webhook delivery records), deletes the provider
 * models that name them, and destroys their audit key, so their sealed audit fields read
 * "(erased)" while the chain still verifies. Returns who they were, for what lives outside the
 * database (the development mailbox); the event stream forgets them when it carries user.deleted.
 */
export async function eraseTracesOf(trx: Knex, user: Pick<UserRow, 'id' | 'email' | 'name'>): Promise<ErasedPerson> {
  const emails = await addressesOf(trx, user);
  const known = [...emails, ...(user.name ? [user.name] : [])];
  for (const row of await outboxQueries.mentioning(trx, user.id, emails)) {
    const data = withoutPersonalFields(row.data, known);
    if (changed(row.data, data)) await outboxQueries.replaceData(trx, Number(row.seq), data);
  }
  for (const task of await taskQueries.mentioning(trx, user.id, emails)) {
    const event = withoutPersonalFields(task.event, known);
    if (changed(task.event, event)) await taskQueries.replaceEvent(trx, task.consumer, task.event_id, event);
  }
  for (const delivery of await webhookQueries.deliveriesMentioning(trx, user.id, emails)) {
    const payload = withoutPersonalFields(delivery.payload, known);
    if (changed(delivery.payload, payload)) await webhookQueries.replacePayload(trx, Number(delivery.id), payload);
  }
  await modelQueries.deleteMentioning(trx, [user.id, ...emails]);
  await destroyAuditKey(trx, user.id);
  return { id: user.id, emails, name: user.name };
}
