import { requiredString, stringValue, type Command } from './command.ts';

export const entitlementsGrant: Command = {
  name: 'entitlements grant',
  summary: 'Give a person a tier at a service (or change it).',
  usage: 'entitlements grant --email E --service S --tier T [--expires ISO-8601] [--json]',
  options: {
    email: { type: 'string' },
    service: { type: 'string' },
    tier: { type: 'string' },
    expires: { type: 'string' },
  },
  required: ['email', 'service', 'tier'],
  optionHelp: [
    { flag: '--email E', text: 'Email of the account.' },
    { flag: '--service S', text: 'Slug of the service.' },
    { flag: '--tier T', text: 'Tier name, e.g. basic or pro. It appears in the service\'s access tokens as entitlements: ["<tier>"].' },
    { flag: '--expires T', text: 'When it ends, as an ISO-8601 date-time with offset (2027-01-01T00:00:00Z). Default: never.' },
  ],
  notes: ['Granting the same tier and expiry again changes nothing ("change": "unchanged"); a different one replaces it.'],
  examples: ['uniqverse entitlements grant --email ada@example.com --service vezepygame --tier pro --expires 2027-01-01T00:00:00Z'],
  async run(ctx, values) {
    const { grantEntitlement } = await import('../catalog/entitlements.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const expires = stringValue(values, 'expires');
    const input = {
      email: requiredString(values, 'email'),
      service: requiredString(values, 'service'),
      tier: requiredString(values, 'tier'),
      ...(expires !== undefined ? { expires } : {}),
    };
    const result = await grantEntitlement(ctx.db, input, cliActor());
    const until = result.expires_at ? ` until ${result.expires_at}` : '';
    const what = { granted: 'Granted', changed: 'Changed to', unchanged: 'Already has' }[result.change];
    return { json: { ...result }, text: `${what} ${result.tier}${until} at ${result.service} for ${result.email}.` };
  },
};

export const entitlementsRevoke: Command = {
  name: 'entitlements revoke',
  summary: 'End a person\'s tier at a service.',
  usage: 'entitlements revoke --email E --service S [--json]',
  options: {
    email: { type: 'string' },
    service: { type: 'string' },
  },
  required: ['email', 'service'],
  optionHelp: [
    { flag: '--email E', text: 'Email of the account.' },
    { flag: '--service S', text: 'Slug of the service.' },
  ],
  notes: ['Tokens issued afterwards carry no tier at the service; an entitlement.revoked event is sent. Ending a tier the person does not hold is an error.'],
  examples: ['uniqverse entitlements revoke --email ada@example.com --service vezepygame'],
  async run(ctx, values) {
    const { revokeEntitlement } = await import('../catalog/entitlements.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const result = await revokeEntitlement(ctx.db, { email: requiredString(values, 'email'), service: requiredString(values, 'service') }, cliActor());
    return { json: { ...result, change: 'revoked' }, text: `Ended ${result.tier} at ${result.service} for ${result.email}.` };
  },
};
