import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import { z } from 'zod';
import { requestOrigin } from '../../audit/audit-log.ts';
import type { CredentialHasher } from '../../platform/crypto/credential-hash.ts';
import type { SecretBox } from '../../platform/crypto/secret-box.ts';
import { safeEqual } from '../../platform/crypto/tokens.ts';
import { AppError } from '../../platform/errors.ts';
import { countSignIn, type HubMetrics } from '../../platform/hub-metrics.ts';
import { jsonBody } from '../http/body.ts';
import { loadClientMetadata } from '../../catalog/clients.ts';
import { verifyAppPassword } from '../../identity/app-passwords.ts';
import type { Limits } from '../../platform/rate-limits.ts';
import { parseInput } from '../../platform/validation.ts';
import { basicCredentials } from '../http/basic-credentials.ts';
import { labelService } from '../../platform/request-labels.ts';

export interface AppPasswordApiDeps {
  db: Knex;
  secrets: { clients: SecretBox; credentials: CredentialHasher };
  limits: Limits;
  hubMetrics: Pick<HubMetrics, 'signIns'>;
}

const verifySchema = z.object({
  username: z.string({ message: 'Send the account\'s email as "username".' }).trim().min(1, 'Send the account\'s email as "username".').max(254),
  password: z.string({ message: 'Send the app password as "password".' }).min(1, 'Send the app password as "password".').max(256),
});

const clientUnauthorized = (ctx: Context) => {
  ctx.set('WWW-Authenticate', 'Basic realm="UniQVerse", charset="UTF-8"');
  return new AppError('unauthorized', 'Authenticate with your service\'s client credentials (HTTP Basic, client_id:client_secret of a web client).');
};

/** The service whose confidential client is calling, or null. Secrets are compared in constant time. */
async function callingService(db: Knex, box: SecretBox, header: string): Promise<string | null> {
  const credentials = basicCredentials(header);
  if (!credentials || credentials.id.length > 200) return null;
  const client = await loadClientMetadata(db, box, credentials.id);
  const expected = typeof client?.client_secret === 'string' ? client.client_secret : '';
  const service = client?.['urn:uniqverse:service'];
  const matches = safeEqual(credentials.secret, expected || `no-secret:${credentials.secret}x`);
  return matches && expected && typeof service === 'string' ? service : null;
}

/**
 * POST /api/v1/app-passwords/verify: a service (a mail server, say) asks whether a legacy
 * client's username and app password are good for that service. 200 { sub, device, service }
 * or 401; a password made for another service is a 401 like a wrong one.
 */
export function appPasswordApiRoutes({ db, secrets, limits, hubMetrics }: AppPasswordApiDeps): Router {
  const router = new Router();
  router.post('/api/v1/app-passwords/verify', async (ctx) => {
    const service = await callingService(db, secrets.clients, ctx.get('authorization'));
    if (!service) {
      // Guessing client secrets counts against the caller's address like any other guess.
      const attempt = await limits.check('app_password', { ip: ctx.ip });
      await limits.fail(attempt);
      throw clientUnauthorized(ctx);
    }
    labelService(ctx.res, service);
    await jsonBody(ctx, async () => undefined);
    const input = parseInput(verifySchema, ctx.request.body ?? {});
    await countSignIn(hubMetrics, 'app_password', async () => {
      const verified = await verifyAppPassword(db, secrets.credentials, limits, { service, username: input.username, password: input.password }, { ...requestOrigin(ctx), ip: ctx.ip });
      ctx.set('Cache-Control', 'no-store');
      if (!verified) throw new AppError('unauthorized', 'The username or app password is not right, or the app password is not for this service.');
      ctx.body = { sub: verified.sub, device: verified.device, device_type: verified.device_type, service: verified.service };
    });
  });
  return router;
}
