/**
 * VEZEPyEmail, a small example service of UniQVerse (README.md): "Sign in with VEZE", an inbox per
 * person fed by the hub's webhooks, and `GET /inbox` for the hub's GraphQL `inbox` field.
 *
 *   ISSUER=… CLIENT_ID=… CLIENT_SECRET=… WEBHOOK_SECRET=… node examples/vezepyemail/server.ts
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { InvalidServiceTokenError, WebhookVerificationError, verifyServiceToken, verifyWebhook } from '../../sdk/typescript/src/index.ts';
import { loadConfig, type EmailConfig } from './config.ts';
import { Inboxes } from './inbox.ts';
import { SignIn } from './sign-in.ts';
import { inboxPage, signedOutPage } from './pages.ts';

const sessionCookie = 'vezepyemail_session';
const pendingCookie = 'vezepyemail_sign_in';

function cookies(req: http.IncomingMessage): Map<string, string> {
  const jar = new Map<string, string>();
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const index = pair.indexOf('=');
    if (index > 0) jar.set(pair.slice(0, index).trim(), decodeURIComponent(pair.slice(index + 1).trim()));
  }
  return jar;
}

const setCookie = (name: string, value: string, maxAge: number) => `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`;

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const json = typeof body !== 'string';
  const type = json ? (status >= 400 ? 'application/problem+json' : 'application/json') : 'text/html; charset=utf-8';
  res.writeHead(status, { 'content-type': type, ...headers }).end(json ? JSON.stringify(body) : body);
}

const problem = (status: number, title: string, detail: string) => ({ type: 'about:blank', status, title, detail });

function readBody(req: http.IncomingMessage, limit = 256 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) reject(new Error('too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startEmailService(config: EmailConfig): Promise<http.Server> {
  const signIn = await SignIn.discover(config);
  const inboxes = new Inboxes();

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', config.publicUrl);
    const jar = cookies(req);
    const key = `${req.method} ${url.pathname}`;

    if (key === 'GET /health') return send(res, 200, { status: 'ok' });

    // The hub's GraphQL (or any caller for the person) reads the inbox with the person's token for this service.
    if (key === 'GET /inbox') {
      const [scheme, token] = (req.headers.authorization ?? '').split(' ');
      const challenge = { 'www-authenticate': 'Bearer error="invalid_token"' };
      if (scheme?.toLowerCase() !== 'bearer' || !token) return send(res, 401, problem(401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <access token for VEZEPyEmail>.'), { 'www-authenticate': 'Bearer' });
      const limitText = url.searchParams.get('limit') ?? '20';
      const limit = Number(limitText);
      if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) return send(res, 400, problem(400, 'BAD_REQUEST', 'limit must be a whole number from 1 to 100.'));
      try {
        const claims = await verifyServiceToken(token, { issuer: config.issuer, audience: config.resource });
        return send(res, 200, { messages: inboxes.list(claims.sub, limit) });
      } catch (error) {
        if (error instanceof InvalidServiceTokenError) return send(res, 401, problem(401, 'UNAUTHENTICATED', error.message), challenge);
        throw error;
      }
    }

    if (key === 'POST /webhooks') {
      const body = await readBody(req);
      try {
        const event = verifyWebhook(req.headers, body, config.webhookSecret);
        inboxes.take(event);
        res.writeHead(204).end();
      } catch (error) {
        if (error instanceof WebhookVerificationError) return send(res, 400, problem(400, 'BAD_SIGNATURE', error.message));
        throw error;
      }
      return;
    }

    if (key === 'GET /login') {
      const { url: authorizationUrl, cookie } = await signIn.start();
      res.writeHead(302, { location: authorizationUrl, 'set-cookie': setCookie(pendingCookie, cookie, 600) }).end();
      return;
    }

    if (key === 'GET /callback') {
      try {
        const session = await signIn.finish(jar.get(pendingCookie), url);
        res.writeHead(302, { location: '/', 'set-cookie': [setCookie(pendingCookie, '', 0), setCookie(sessionCookie, session, 8 * 3600)] }).end();
      } catch (error) {
        send(res, 400, signedOutPage(`Sign-in failed: ${(error as Error).message}`));
      }
      return;
    }

    if (key === 'GET /logout') {
      const to = signIn.signOut(jar.get(sessionCookie));
      res.writeHead(302, { location: to, 'set-cookie': setCookie(sessionCookie, '', 0) }).end();
      return;
    }

    if (key === 'GET /') {
      const session = signIn.session(jar.get(sessionCookie));
      return send(res, 200, session ? inboxPage(session, inboxes.list(session.sub, 50)) : signedOutPage());
    }

    send(res, 404, problem(404, 'NOT_FOUND', `No ${req.method} ${url.pathname} here.`));
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) send(res, 500, problem(500, 'INTERNAL', 'Something went wrong.'));
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  return server;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const config = loadConfig();
  const server = await startEmailService(config);
  console.log(`VEZEPyEmail at ${config.publicUrl} (listening on ${config.host}:${config.port}), signing in with ${config.issuer}`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
