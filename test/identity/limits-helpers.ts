import { generate } from 'otplib';
import * as oidc from 'openid-client';
import type { Hub } from '../../src/app/start.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/identity/totp.ts';
import { callbackUrl, type Person } from '../helpers/fixtures.ts';
import type { Scene } from '../helpers/oidc.ts';
import { UserAgent } from '../helpers/user-agent.ts';

export interface LoginForm {
  agent: UserAgent;
  uid: string;
  action: string;
}

/** Opens a sign-in page of a new authorization request (prompt=login, so a known browser is asked too). */
export async function loginForm(s: Pick<Scene, 'hub' | 'rp'>, agent = new UserAgent()): Promise<LoginForm> {
  const url = oidc.buildAuthorizationUrl(s.rp, { redirect_uri: callbackUrl, scope: 'openid', prompt: 'login', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
  const { response } = await agent.follow(url.href, s.hub.url);
  const uid = /\/interaction\/([\w-]+)\/login/.exec(await response.text())?.[1];
  if (!uid) throw new Error('no sign-in form');
  return { agent, uid, action: `${s.hub.url}/interaction/${uid}/login` };
}

export interface Answer {
  status: number;
  location: string | null;
  error: string | null;
}

async function post(agent: UserAgent, url: string, form: Record<string, string>, from?: string): Promise<Answer> {
  const response = await agent.request(url, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(from ? { 'x-forwarded-for': from } : {}) },
  });
  const html = await response.text();
  return { status: response.status, location: response.headers.get('location'), error: /role="alert">([^<]*)</.exec(html)?.[1] ?? null };
}

/** Posts the password form; `from` is the address a trusted proxy reports (hub with TRUST_PROXY=true). */
export const typePassword = (form: LoginForm, email: string, password: string, from?: string) => post(form.agent, form.action, { email, password }, from);

/** Posts the second step's Code field (a TOTP code or a recovery code). */
export const typeCode = (hub: Hub, form: LoginForm, code: string, from?: string) =>
  post(form.agent, `${hub.url}/interaction/${form.uid}/second-factor`, { code }, from);

/** Turns the authenticator app on for the person; returns its secret. */
export async function enrolTotp(hub: Hub, person: Person): Promise<string> {
  const { secret } = await startTotpEnrolment(hub.db, hub.secrets.totp, person);
  await confirmTotpEnrolment(hub.db, hub.secrets.totp, person.id, await generate({ secret }));
  return secret;
}

/** A code of the next time step: the enrolment spent the current one. */
export const nextTotpCode = (secret: string): Promise<string> => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

export const auditCount = async (hub: Hub, action: string, filter: { locked?: boolean } = {}) => {
  const rows: Array<{ data: { locked?: boolean } }> = await hub.db('audit_log').where({ action }).select('data');
  return rows.filter((r) => filter.locked === undefined || Boolean(r.data?.locked) === filter.locked).length;
};
