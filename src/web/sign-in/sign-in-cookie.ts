import type { Context } from 'koa';
import type { ProviderHolder } from '../../oidc/provider-holder.ts';
import { browserCookie, hashBrowserToken, isBrowserToken } from '../../identity/known-browsers.ts';
import { randomToken } from '../../platform/crypto/tokens.ts';
import type { UserRow } from '../../queries/users.ts';
import { recordSignIn as recordSignInFrom, type SignInInteraction, type SignInRecordDeps } from '../../sessions/sign-in-record.ts';

/** What recording a sign-in from a request needs: the cookie's Secure flag besides the domain's deps. */
export type SignInCookieDeps = SignInRecordDeps & { secureCookies: boolean; holder: ProviderHolder };

/** The hash of this browser's long-lived cookie, as known_devices stores it; null without a well-formed one. */
export function browserHashOf(ctx: Context): string | null {
  const device = ctx.cookies.get(browserCookie);
  return isBrowserToken(device) ? hashBrowserToken(device) : null;
}

/**
 * Records a complete sign-in (src/sessions/sign-in-record.ts) from this request: its address, its
 * user agent and the browser's long-lived cookie, set here when the browser has none yet.
 */
export async function recordSignIn(deps: SignInCookieDeps, ctx: Context, user: UserRow, amr: string[], interaction: SignInInteraction): Promise<void> {
  let device = ctx.cookies.get(browserCookie);
  if (!isBrowserToken(device)) {
    device = randomToken(32);
    ctx.cookies.set(browserCookie, device, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, maxAge: 400 * 24 * 3600_000, overwrite: true });
  }
  // The provider's client is cached (and kept true by change notices): the record needs no look-up of its own.
  const clientId = interaction.params.client_id;
  const client = typeof clientId === 'string' ? await deps.holder.current.Client.find(clientId) : undefined;
  const clientService = client ? ((client['urn:uniqverse:service'] as string | null | undefined) ?? null) : undefined;
  return recordSignInFrom(deps, { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, browserHash: hashBrowserToken(device) }, user, amr, { ...interaction, clientService });
}
