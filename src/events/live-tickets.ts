import type { Knex } from 'knex';
import { randomToken, sha256 } from '../platform/crypto/tokens.ts';
import { liveTicketQueries } from '../queries/live-tickets.ts';
import { findInAnyRegion } from '../db/regions.ts';

/** How long a ticket may wait for its connection. */
export const liveTicketSeconds = 30;

/** What a ticket stands for: the access token it was asked for with, as far as a live stream needs it. */
export interface TicketHolder {
  userId: string;
  clientId: string;
  grantRef: string | null;
  scope: string;
  /** The access token's expiry (seconds since epoch): a stream opened with the ticket ends then. */
  tokenExp: number;
}

/**
 * Issues a ticket for one EventSource or WebSocket connection to /hub/events, so that a browser
 * (which cannot set headers on those) never puts its access token in a URL. The ticket is random,
 * stored as a hash, good for 30 seconds (never past the token's own expiry) and for one connection.
 */
export async function issueLiveTicket(db: Knex, holder: TicketHolder): Promise<{ ticket: string; expires_in: number }> {
  const ticket = randomToken(32);
  const expiresAt = new Date(Math.min(Date.now() + liveTicketSeconds * 1000, holder.tokenExp * 1000));
  await liveTicketQueries.deleteExpired(db);
  await liveTicketQueries.insert(db, {
    ticket_hash: sha256(ticket),
    user_id: holder.userId,
    client_id: holder.clientId,
    grant_ref: holder.grantRef,
    scope: holder.scope,
    token_expires_at: new Date(holder.tokenExp * 1000),
    expires_at: expiresAt,
  });
  return { ticket, expires_in: Math.max(0, Math.round((expiresAt.getTime() - Date.now()) / 1000)) };
}

/** Takes a ticket once: what it stands for, or null when it is unknown, taken already or expired. */
export async function redeemLiveTicket(db: Knex, ticket: string): Promise<TicketHolder | null> {
  if (!/^[\w-]{20,100}$/.test(ticket)) return null;
  // A ticket names no person: with data residency each region is asked (and the request moves to the one that has it).
  const row = await findInAnyRegion(db, (each) => liveTicketQueries.take(each, sha256(ticket)));
  if (!row) return null;
  return { userId: row.user_id, clientId: row.client_id, grantRef: row.grant_ref, scope: row.scope, tokenExp: Math.floor(new Date(row.token_expires_at).getTime() / 1000) };
}
