/**
 * How long a sign-in lasts: at most 14 days after the person signed in (absolute), and at most
 * 2 days without using it (idle). The provider stores each session with this TTL whenever it
 * saves it (every authorization request that reads it), so the expiry in the database and in
 * the cookie is always the earlier of the two; a session read after it is not found.
 */
export const sessionPolicy = {
  absoluteSeconds: 14 * 24 * 3600,
  idleSeconds: 2 * 24 * 3600,
} as const;

export function sessionTtl(_ctx: unknown, session: { loginTs?: number }, now = Math.floor(Date.now() / 1000)): number {
  const absoluteLeft = (session.loginTs ?? now) + sessionPolicy.absoluteSeconds - now;
  return Math.max(1, Math.min(sessionPolicy.idleSeconds, absoluteLeft));
}
