import { flag, requiredString, stringValue, UsageError, type Command } from './command.ts';

export const servicesCreate: Command = {
  name: 'services create',
  summary: 'Register a service (a resource server with its own token audience).',
  usage: 'services create --slug S --name N [--url U] [--upstream U] [--health-url U] [--first-party] [--default-tier T] [--json]',
  options: {
    slug: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string' },
    upstream: { type: 'string' },
    'health-url': { type: 'string' },
    'first-party': { type: 'boolean' },
    'default-tier': { type: 'string' },
  },
  required: ['slug', 'name'],
  fieldFlags: { firstParty: '--first-party', defaultTier: '--default-tier', upstreamUrl: '--upstream', healthUrl: '--health-url' },
  optionHelp: [
    { flag: '--slug S', text: 'Short name: 2 to 40 lower-case letters, digits or dashes. Its resource is urn:veze:service:<slug>.' },
    { flag: '--name N', text: 'Name people see.' },
    { flag: '--url U', text: 'Home page of the service (http or https).' },
    { flag: '--upstream U', text: 'Where /gateway/<slug>/ forwards people\'s requests (an http or https base URL; private addresses are fine). Unset: the service is not behind the gateway.' },
    { flag: '--health-url U', text: 'Where the hub GETs to see whether the service is up (a 2xx). None: its health stays unknown.' },
    { flag: '--first-party', text: 'One of our own services: no consent screen, and its clients may ask for tokens for other services.' },
    { flag: '--default-tier T', text: 'Tier a person gets on joining the service (e.g. basic).' },
  ],
  examples: ['uniqverse services create --slug vezepychat --name VEZEPyChat --url http://localhost:8006 --first-party --default-tier basic'],
  async run(ctx, values) {
    const { createService, publicService } = await import('../catalog/services.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const created = await createService(
        ctx.db,
        {
          slug: requiredString(values, 'slug'),
          name: requiredString(values, 'name'),
          url: stringValue(values, 'url'),
          upstreamUrl: stringValue(values, 'upstream'),
          healthUrl: stringValue(values, 'health-url'),
          firstParty: flag(values, 'first-party'),
          defaultTier: stringValue(values, 'default-tier'),
        },
        cliActor(),
      );
    const service = { ...publicService(created), upstream_url: created.upstream_url };
    return {
      json: { ...service },
      text: [
        `Registered ${service.name} (${service.slug})${service.first_party ? ', first party' : ''}.`,
        `  resource: ${service.resource}`,
        ...(service.default_tier ? [`  default tier: ${service.default_tier}`] : []),
        ...(service.upstream_url ? [`  gateway: /gateway/${service.slug}/ -> ${service.upstream_url}`] : []),
        `Next: uniqverse clients create --service ${service.slug} --type web --redirect-uri <URL>`,
      ].join('\n'),
    };
  },
};

export const servicesUpdate: Command = {
  name: 'services update',
  summary: 'Change where the hub asks whether a service is up.',
  usage: 'services update --slug S --health-url U|none [--json]',
  options: {
    slug: { type: 'string' },
    'health-url': { type: 'string' },
  },
  required: ['slug', 'health-url'],
  fieldFlags: { healthUrl: '--health-url' },
  optionHelp: [
    { flag: '--slug S', text: 'The service.' },
    { flag: '--health-url U', text: 'An http(s) URL the hub GETs (a 2xx within HEALTH_CHECK_TIMEOUT_SECONDS is up); "none" stops asking (health unknown).' },
  ],
  notes: ['A new URL is asked within seconds; until its first answer the service\'s health is unknown.'],
  examples: ['uniqverse services update --slug vezepygame --health-url http://localhost:8001/health'],
  async run(ctx, values) {
    const { setServiceHealthUrl } = await import('../catalog/services.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const given = requiredString(values, 'health-url');
    const service = await setServiceHealthUrl(ctx.db, requiredString(values, 'slug'), given === 'none' ? null : given, cliActor());
    return {
      json: { slug: service.slug, health_url: service.health_url, health: service.health },
      text: service.health_url ? `${service.name} (${service.slug}): health asked at ${service.health_url}.` : `${service.name} (${service.slug}): health not asked (unknown).`,
    };
  },
};

export const servicesLimits: Command = {
  name: 'services limits',
  summary: 'Set a service\'s API rate limits (requests a minute), or put them back to the defaults.',
  usage: 'services limits --slug S [--token N|default] [--events N|default] [--hub N|default] [--json]',
  options: {
    slug: { type: 'string' },
    token: { type: 'string' },
    events: { type: 'string' },
    hub: { type: 'string' },
  },
  required: ['slug'],
  optionHelp: [
    { flag: '--slug S', text: 'The service.' },
    { flag: '--token N', text: 'Token requests (/token) a minute per client of the service. Default 600.' },
    { flag: '--events N', text: 'Events the service may post (POST /api/v1/events) a minute. Default 1200.' },
    { flag: '--hub N', text: 'Hub API requests (/hub/*) a minute per person and client of the service. Default 300.' },
  ],
  notes: ['"default" puts a limit back to the default. Every hub instance applies a change within 30 seconds.'],
  examples: ['uniqverse services limits --slug vezepygame --token 1200 --hub default'],
  async run(ctx, values) {
    const { setServiceRateLimits, ratesOf } = await import('../catalog/service-rate-limits.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const input: Record<string, unknown> = {};
    for (const scope of ['token', 'events', 'hub'] as const) if (stringValue(values, scope) !== undefined) input[scope] = stringValue(values, scope);
    const service = await setServiceRateLimits(ctx.db, requiredString(values, 'slug'), input, cliActor());
    const rates = ratesOf(service);
    return {
      json: { slug: service.slug, rate_limits: rates },
      text: `${service.name} (${service.slug}) a minute: ${rates.token} token requests per client, ${rates.events} events, ${rates.hub} hub requests per person and client.`,
    };
  },
};

export const servicesUpstream: Command = {
  name: 'services upstream',
  summary: 'Put a service behind the gateway (/gateway/<slug>/ forwards to its upstream URL), or take it off.',
  usage: 'services upstream --slug S (--url U | --none) [--json]',
  options: {
    slug: { type: 'string' },
    url: { type: 'string' },
    none: { type: 'boolean' },
  },
  required: ['slug'],
  optionHelp: [
    { flag: '--slug S', text: 'The service.' },
    { flag: '--url U', text: 'The upstream base URL (http or https, no query); /gateway/<slug>/a/b?c goes to <U>/a/b?c. Private and loopback addresses are allowed.' },
    { flag: '--none', text: 'Take the service off the gateway: /gateway/<slug>/ answers 404.' },
  ],
  notes: ['Audited and announced as service.upstream_changed. The gateway reads the URL on every request.'],
  examples: ['uniqverse services upstream --slug vezepynotes --url http://10.0.0.12:8001'],
  check(values) {
    if ((stringValue(values, 'url') === undefined) === !flag(values, 'none')) throw new UsageError('give either --url U or --none');
  },
  async run(ctx, values) {
    const { setUpstream } = await import('../catalog/service-exchange.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const service = await setUpstream(ctx.db, requiredString(values, 'slug'), stringValue(values, 'url') ?? null, cliActor());
    return {
      json: { slug: service.slug, upstream_url: service.upstream_url },
      text: service.upstream_url ? `${service.name} (${service.slug}): /gateway/${service.slug}/ forwards to ${service.upstream_url}.` : `${service.name} (${service.slug}) is not behind the gateway.`,
    };
  },
};

function exchangeCommand(allow: boolean): Command {
  const verb = allow ? 'allow-exchange' : 'deny-exchange';
  return {
    name: `services ${verb}`,
    summary: allow
      ? 'Let clients of one service exchange a person\'s token for a token toward another service (RFC 8693 token exchange).'
      : 'Stop clients of one service from exchanging people\'s tokens for tokens toward another service.',
    usage: `services ${verb} <from> <to> [--json]`,
    options: {},
    positionals: ['from', 'to'],
    optionHelp: [
      { flag: '<from>', text: 'The slug of the acting service (whose web clients call /token).' },
      { flag: '<to>', text: 'The slug of the service the new token is for.' },
    ],
    notes: allow
      ? ['The pair is one way: allow <to> <from> as well for the other direction. Audited and announced as service.exchange_allowed; allowing it again changes nothing.']
      : ['Tokens already exchanged stay valid until they expire. Audited and announced as service.exchange_denied.'],
    examples: [`uniqverse services ${verb} vezepychat vezepyemail`],
    async run(ctx, values) {
      const { allowExchange, denyExchange } = await import('../catalog/service-exchange.ts');
      const { cliActor } = await import('../audit/actors.ts');
      const change = allow ? allowExchange : denyExchange;
      const { from, to, changed } = await change(ctx.db, requiredString(values, 'from'), requiredString(values, 'to'), cliActor());
      const state = allow ? 'may' : 'may not';
      return {
        json: { from: from.slug, to: to.slug, allowed: allow, changed },
        text: `Clients of ${from.slug} ${state} exchange people's tokens for tokens toward ${to.slug}${changed ? '.' : ' (unchanged).'}`,
      };
    },
  };
}

export const servicesAllowExchange = exchangeCommand(true);
export const servicesDenyExchange = exchangeCommand(false);
