import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { canonicalJson } from './canonical-json.ts';
import { auditQueries, type AuditRow } from '../queries/audit-log.ts';
import { keyOwnersOf, newWrappedKey, sealPersonalFields } from './personal-seal.ts';

/** One security act. `action` is noun.verb in the past tense, like events: "signin.succeeded". */
export interface AuditEntry {
  action: string;
  /** Who did it (the person themself, an administrator); null for someone not signed in. */
  actorId?: string | null;
  /** Whose account it concerns. */
  subjectId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  data?: Record<string, unknown>;
  occurredAt?: Date;
}

export const genesisHash = '0'.repeat(64);
const actionPattern = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

/** The fields the hash covers: everything in the row except the hashes themselves. */
export function hashedFields(row: Omit<AuditRow, 'prev_hash' | 'hash'>) {
  return {
    seq: Number(row.seq),
    occurred_at: new Date(row.occurred_at).toISOString(),
    action: row.action,
    actor_id: row.actor_id,
    subject_id: row.subject_id,
    ip: row.ip,
    user_agent: row.user_agent,
    data: row.data,
  };
}

/** hash = sha256(prev_hash || canonical JSON of the entry), hex. */
export function entryHash(prevHash: string, row: Omit<AuditRow, 'prev_hash' | 'hash'>): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(hashedFields(row))).digest('hex');
}

/**
 * Appends one entry to the chain in the caller's transaction (or in one of its own), so the
 * entry exists if and only if the act does. Its personal fields are stored sealed under their
 * person's key (personal-seal.ts); read entries back through `openAuditRows`. Writers queue on an advisory lock: the chain never
 * forks, and seq has no gaps, so a deleted row shows.
 */
export async function appendAudit(trx: Knex, entry: AuditEntry): Promise<AuditRow> {
  if (!(trx as Knex.Transaction).isTransaction) return trx.transaction((inner) => appendAudit(inner, entry));
  const row = await nextAuditRow(trx as Knex.Transaction, entry);
  await auditQueries.insert(trx, row);
  return row;
}

/**
 * The entry appendAudit writes, made under the writers' lock (held until the transaction ends)
 * but not yet inserted: for a caller that sends its insert (`auditQueries.insert`) together with
 * other writes of the transaction. Nothing else may be appended in the transaction before it is.
 */
export async function nextAuditRow(trx: Knex.Transaction, entry: AuditEntry): Promise<AuditRow> {
  if (!actionPattern.test(entry.action)) throw new TypeError(`audit action "${entry.action}" is not noun.verb`);
  // Through JSON once, so what we hash is exactly what jsonb gives back.
  const data = JSON.parse(JSON.stringify(entry.data ?? {})) as Record<string, unknown>;
  const actorId = entry.actorId ?? null;
  const subjectId = entry.subjectId ?? null;
  const personal = { actorId, subjectId, ip: entry.ip?.slice(0, 64) ?? null, userAgent: entry.userAgent?.slice(0, 256) ?? null, data };
  const owners = keyOwnersOf(personal);
  // The first key sealing takes is read (or made) with the lock, in the same round trip.
  const owner = owners && (owners.request ?? owners.data);
  const { last, wrappedKey } = await auditQueries.lockWriterAndReadLast(trx, owner ? { personId: owner, candidateKey: newWrappedKey(trx) } : null);
  // Sealed before hashing: the chain covers the sealed form, so destroying a person's key later leaves it whole.
  const sealed = await sealPersonalFields(trx, personal, { owners, known: owner && wrappedKey ? { personId: owner, wrappedKey } : null });
  const fields = {
    seq: (last?.seq ?? 0) + 1,
    occurred_at: new Date(Math.floor((entry.occurredAt ?? new Date()).getTime())),
    action: entry.action,
    actor_id: actorId,
    subject_id: subjectId,
    ip: sealed.ip,
    user_agent: sealed.userAgent,
    data: sealed.data,
  };
  const prevHash = last?.hash ?? genesisHash;
  return { ...fields, prev_hash: prevHash, hash: entryHash(prevHash, fields) };
}

/** Where a request came from, for entries written by routes. */
/** Where a request came from, as an audit entry records it. */
export type AuditOrigin = Pick<AuditEntry, 'ip' | 'userAgent'>;

/** Who did something, and from where. */
export type ActorOrigin = AuditOrigin & Pick<AuditEntry, 'actorId'>;

export function requestOrigin(ctx: { ip: string; get(name: string): string }): AuditOrigin {
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}
