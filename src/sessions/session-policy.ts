/**
 * How long a sign-in lasts: at most 14 days after the person signed in (absolute), and at most
 * 2 days without using it (idle). The provider stores each session with this TTL whenever it
 * saves it (every authorization request that reads it), and the portal moves the expiry on while
 * the person uses its pages (see `extendedExpiry`), so the expiry in the database and in the
 * cookie is always the earlier of the two; a session read after it is not found.
 */
export const sessionPolicy = {
  absoluteSeconds: 14 * 24 * 3600,
  idleSeconds: 2 * 24 * 3600,
  /** The portal moves a session's expiry on only when it would move by this much: one write per session every few minutes at most. */
  refreshSeconds: 5 * 60,
} as const;

export function sessionTtl(_ctx: unknown, session: { loginTs?: number }, now = Math.floor(Date.now() / 1000)): number {
  const absoluteLeft = (session.loginTs ?? now) + sessionPolicy.absoluteSeconds - now;
  return Math.max(1, Math.min(sessionPolicy.idleSeconds, absoluteLeft));
}

/**
 * The new expiry (epoch seconds) of a session in use now: now + idle, never past the absolute
 * limit. Null when it would move by less than `refreshSeconds` (the last move was recent, or the
 * absolute limit is near), so pages need not write on every request.
 */
export function extendedExpiry(session: { loginTs?: number; exp?: number }, now = Math.floor(Date.now() / 1000)): number | null {
  if (!session.loginTs || !session.exp) return null;
  const expiry = now + sessionTtl(null, session, now);
  return expiry - session.exp >= sessionPolicy.refreshSeconds ? expiry : null;
}

/** The flags of the provider's session cookie (its `cookies.long`), so whoever re-sets it sets the same cookie. */
export const sessionCookieFlags = (secure: boolean) => ({ signed: true, httpOnly: true, sameSite: 'lax', secure }) as const;
