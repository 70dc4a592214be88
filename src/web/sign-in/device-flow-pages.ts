import type { CookiesSetOptions, KoaContextWithOIDC } from 'oidc-provider';
import QRCode from 'qrcode';
import { describeUserAgent } from '../../identity/browser-names.ts';
import { deviceKindKeys } from '../../devices/device-kinds.ts';
import type { ProviderPages } from '../../oidc/provider-pages.ts';
import type { Views } from '../../platform/views.ts';
import { AppError } from '../../platform/errors.ts';
import { sessionCookieFlags, sessionTtl } from '../../sessions/session-policy.ts';
import { render } from '../http/render.ts';

/** The provider hands us its own form HTML; we keep only what it must post back (action and anti-CSRF token). */
function formParts(form: string) {
  const action = /action="([^"]+)"/.exec(form)?.[1] ?? '';
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
  return { action, xsrf };
}

function deviceError(err: Error | undefined): string | null {
  if (!err) return null;
  if (err instanceof AppError && err.expose) return err.message;
  const name = err.name;
  if (name === 'NoCodeError' || (err as { userCode?: string }).userCode) return 'That code is not right, or it has expired. Check the code on your device and try again.';
  if (name === 'AbortedError') return 'The sign-in on your device was cancelled.';
  if (name === 'AlreadyUsedError') return 'That code was already used.';
  if (name === 'ExpiredError') return 'That code has expired. Start again on your device.';
  return 'Something went wrong with that code. Start again on your device.';
}

/**
 * On a refused code the provider re-renders the input form with a fresh anti-CSRF secret put in
 * the session, after its session step has already run. A request that came without a session
 * (no cookie, an expired one, a bare POST /device, GET /device/<anything>) holds a new, unsaved
 * one, which the provider then fails to persist (a 500), and whose secret no browser could send
 * back. Such a session is saved here, with its cookie, as GET /device saves it: the form works.
 */
async function keepNewSession(ctx: KoaContextWithOIDC, secureCookies: boolean): Promise<void> {
  const session = ctx.oidc.session;
  if (!session || typeof session.exp === 'number') return;
  const ttl = sessionTtl(ctx, session);
  // The cookies library takes `expires` (the provider's session step adds it the same way); the types omit it.
  const flags = { ...sessionCookieFlags(secureCookies), expires: new Date(Date.now() + ttl * 1000) } as CookiesSetOptions;
  ctx.oidc.cookies.set(ctx.oidc.provider.cookieName('session'), session.jti, flags);
  await session.save(ttl);
}

/**
 * Which device asks: what it said of itself at /device/auth, else what its user agent tells. The
 * kind is a catalogue key, and no name (null) is "A device" in the page's language.
 */
export function askingDevice(info: { [key: string]: unknown } | undefined): { name: string | null; kindKey: string | null } {
  const kindKey = typeof info?.kind === 'string' ? (deviceKindKeys[info.kind] ?? null) : null;
  if (typeof info?.name === 'string' && info.name) return { name: info.name, kindKey };
  const described = typeof info?.ua === 'string' && info.ua ? describeUserAgent(info.ua) : null;
  const known = described && described.kind !== 'unknown' ? described : null;
  return { name: known ? known.name : null, kindKey: kindKey ?? (known ? (deviceKindKeys[known.kind] ?? null) : null) };
}

/** The verification page's address as an inline SVG QR code: scanned on a phone, it opens this page there (with the code, when known). */
async function verificationQr(ctx: KoaContextWithOIDC, userCode: string): Promise<{ url: string; svg: string }> {
  const url = new URL(ctx.oidc.urlFor('code_verification'));
  if (userCode) url.searchParams.set('user_code', userCode);
  const svg = await QRCode.toString(url.href, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  return { url: url.href, svg };
}

export function createProviderPages(views: Views, options: { secureCookies: boolean }): ProviderPages {
  return {
    async userCodeInput(ctx, form, out, err) {
      const prefilled = typeof ctx.query?.user_code === 'string' ? ctx.query.user_code.slice(0, 20) : '';
      // Ours (the device-code limit, or its store down): its status; the provider's refusals: 400.
      if (err instanceof AppError && err.retryAfter) ctx.set('Retry-After', String(err.retryAfter));
      const status = err instanceof AppError ? err.status : err ? 400 : 200;
      await keepNewSession(ctx, options.secureCookies);
      const qr = await verificationQr(ctx, prefilled);
      render(ctx, views, 'interaction/device-input.njk', { title: 'Connect a device', ...formParts(form), error: deviceError(err), userCode: prefilled, qr }, status);
    },
    async userCodeConfirm(ctx, form, client, deviceInfo, userCode) {
      render(ctx, views, 'interaction/device-confirm.njk', {
        title: 'Confirm the device',
        ...formParts(form),
        userCode,
        clientName: client.clientName ?? client.clientId,
        device: askingDevice(deviceInfo),
        deviceIp: deviceInfo?.ip,
        deviceUa: deviceInfo?.ua,
      });
    },
    async deviceSuccess(ctx) {
      render(ctx, views, 'interaction/device-success.njk', { title: 'Device connected', clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId });
    },
    async logout(ctx, form) {
      render(ctx, views, 'interaction/logout.njk', { title: 'Sign out', ...formParts(form), clientName: ctx.oidc.client?.clientName });
    },
    async postLogoutSuccess(ctx) {
      render(ctx, views, 'interaction/logged-out.njk', { title: 'Signed out', clientName: ctx.oidc.client?.clientName });
    },
  };
}
