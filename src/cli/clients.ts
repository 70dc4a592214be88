import { checkChoice, requiredString, stringList, stringValue, type Command } from './command.ts';

const clientTypes = ['web', 'native', 'device', 'extension'] as const;

export const clientsCreate: Command = {
  name: 'clients create',
  summary: 'Register an OpenID Connect client of a service.',
  usage: 'clients create --service S --type web|native|device|extension --redirect-uri U... [--post-logout-redirect-uri U...] [--name N] [--json]',
  options: {
    service: { type: 'string' },
    type: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    name: { type: 'string' },
  },
  required: ['service', 'type'],
  fieldFlags: { redirectUris: '--redirect-uri', postLogoutRedirectUris: '--post-logout-redirect-uri' },
  optionHelp: [
    { flag: '--service S', text: 'Slug of the service the client belongs to.' },
    { flag: '--type T', text: 'web: confidential server app (authorization code, refresh token, client credentials; gets a secret).' },
    { flag: '', text: 'native, extension: public app with PKCE (no secret). device: public, device authorization grant (no redirect URI).' },
    { flag: '--redirect-uri U', text: 'Where sign-in returns to; repeat for several. Required except for device clients.' },
    { flag: '--post-logout-redirect-uri U', text: 'Where sign-out may return to; repeatable.' },
    { flag: '--name N', text: 'Name shown on consent pages (default: "<service name> (<type>)").' },
  ],
  notes: ['The client secret of a web client is printed once, now. Store it in the service\'s configuration.'],
  examples: [
    'uniqverse clients create --service vezepyweb --type web --redirect-uri http://localhost:8001/callback --post-logout-redirect-uri http://localhost:8001/',
    'uniqverse clients create --service vezepygame --type native --redirect-uri com.veze.game:/callback',
    'uniqverse clients create --service vezepygame --type device',
  ],
  check(values) {
    checkChoice(values, 'type', clientTypes);
  },
  async run(ctx, values) {
    const { createClient } = await import('../catalog/clients.ts');
    const { createClientValidator } = await import('./client-validator.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const validate = await createClientValidator(ctx);
    const input = {
      service: requiredString(values, 'service'),
      type: requiredString(values, 'type') as (typeof clientTypes)[number],
      redirectUris: stringList(values, 'redirect-uri'),
      postLogoutRedirectUris: stringList(values, 'post-logout-redirect-uri'),
      name: stringValue(values, 'name'),
    };
    const client = await createClient(ctx.db, ctx.secrets.clients, validate, input, cliActor());
    return {
      json: { ...client },
      text: [
        `Registered ${client.type} client of ${client.service}.`,
        `  client_id:     ${client.client_id}`,
        ...(client.client_secret ? [`  client_secret: ${client.client_secret}   (shown only now: store it)`] : ['  public client: no secret; use PKCE']),
        ...client.redirect_uris.map((uri) => `  redirect_uri:  ${uri}`),
      ].join('\n'),
    };
  },
};
