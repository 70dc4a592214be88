/**
 * Child process: the baseline. A bare node-oidc-provider of the same version with its default
 * in-memory adapter, a static client, a fixed account, and its built-in devInteractions for the
 * login and consent forms. Same signing algorithms as the hub: ID tokens RS256, resource-server
 * access tokens (client credentials) ES256 JWTs, opaque tokens elsewhere. The ceiling of our stack.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import Provider, { errors, type Configuration } from 'oidc-provider';
import { benchCallback, type ChildMessage } from './target.ts';

const send = (message: ChildMessage) => process.send!(message);

const resource = 'urn:veze:service:bench';
const account = { sub: randomUUID(), email: 'bare@example.test', name: 'Ada Lovelace' };

function signingKey(alg: 'RS256' | 'ES256') {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: randomUUID() };
}

export function bareConfiguration(client: { client_id: string; client_secret: string }): Configuration {
  return {
    clients: [
      {
        ...client,
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        response_types: ['code'],
        redirect_uris: [benchCallback],
      },
    ],
    findAccount: (ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, email: account.email, email_verified: true, name: account.name, preferred_username: account.email }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username', 'updated_at'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingKey('RS256'), signingKey('ES256')] } as never,
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined!,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return { scope: 'read', audience: resource, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
    issueRefreshToken: (ctx, c, code) => c.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    pkce: { required: () => true },
    conformIdTokenClaims: true,
  };
}

async function main() {
  const server = http.createServer();
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = { client_id: 'bench', client_secret: randomBytes(32).toString('base64url') };
  const provider = new Provider(url, bareConfiguration(client));
  server.on('request', provider.callback());

  // If the bench itself dies, do not outlive it.
  process.once('disconnect', () => process.exit(1));
  process.on('message', (message) => {
    if (message !== 'stop') return;
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  send({
    type: 'ready',
    target: {
      name: 'bare',
      url,
      clientId: client.client_id,
      clientSecret: client.client_secret,
      redirectUri: benchCallback,
      resource,
      email: account.sub,
      password: 'any',
    },
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
