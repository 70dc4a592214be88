import { hostname, userInfo } from 'node:os';
import type { Knex } from 'knex';
import { appendAudit, type AuditEntry } from './audit-log.ts';

/**
 * Who does an administrative act, as its audit entry records it: an administrator in the admin
 * console (their id, IP and browser), or the operator at a shell running `uniqverse` (no account,
 * so no actor id; `context` says it came through the CLI and from which OS user).
 */
export interface AuditActor {
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Merged into the entry's data. Never a secret. */
  context?: Record<string, unknown>;
}

/** The OS user running the command, or null where the system cannot name it (a uid without a passwd entry). */
function osUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** The operator at the shell: actorId null, and data `{ via: 'cli', os_user, host }`. */
export function cliActor(): AuditActor {
  return { actorId: null, ip: null, userAgent: null, context: { via: 'cli', os_user: osUser(), host: hostname() } };
}

/** The hub itself, acting on its own schedule (an expiry passing): data `{ via: 'system', task }`. */
export function systemActor(task: string): AuditActor {
  return { actorId: null, ip: null, userAgent: null, context: { via: 'system', task } };
}

/** A registered service acting through the API with its client credentials: data `{ via: 'api', service, client_id }`. */
export function serviceActor(service: string, clientId: string | null, ip: string | null = null): AuditActor {
  return { actorId: null, ip, userAgent: null, context: { via: 'api', service, client_id: clientId } };
}

/** A trusted service's event that the hub acted on (a refund): data `{ via: 'event', service, event_id }`. */
export function eventActor(service: string, eventId: string): AuditActor {
  return { actorId: null, ip: null, userAgent: null, context: { via: 'event', service, event_id: eventId } };
}

/** The audit entry of an act, done by `actor`. */
export function entryBy(actor: AuditActor, entry: Omit<AuditEntry, 'actorId' | 'ip' | 'userAgent'>): AuditEntry {
  return {
    ...entry,
    actorId: actor.actorId ?? null,
    ip: actor.ip ?? null,
    userAgent: actor.userAgent ?? null,
    data: { ...entry.data, ...actor.context },
  };
}

/**
 * Runs an act and appends its audit entry in one transaction, for acts whose domain function
 * takes no actor of its own: the entry exists if and only if the act does.
 */
export async function audited<T>(db: Knex, act: (trx: Knex.Transaction) => Promise<T>, entry: (result: T) => AuditEntry): Promise<T> {
  return db.transaction(async (trx) => {
    const result = await act(trx);
    await appendAudit(trx, entry(result));
    return result;
  });
}
