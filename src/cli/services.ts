import { flag, requiredString, stringValue, type Command } from './command.ts';

export const servicesCreate: Command = {
  name: 'services create',
  summary: 'Register a service (a resource server with its own token audience).',
  usage: 'services create --slug S --name N [--url U] [--health-url U] [--first-party] [--default-tier T] [--json]',
  options: {
    slug: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string' },
    'health-url': { type: 'string' },
    'first-party': { type: 'boolean' },
    'default-tier': { type: 'string' },
  },
  required: ['slug', 'name'],
  fieldFlags: { firstParty: '--first-party', defaultTier: '--default-tier', healthUrl: '--health-url' },
  optionHelp: [
    { flag: '--slug S', text: 'Short name: 2 to 40 lower-case letters, digits or dashes. Its resource is urn:veze:service:<slug>.' },
    { flag: '--name N', text: 'Name people see.' },
    { flag: '--url U', text: 'Home page of the service (http or https).' },
    { flag: '--health-url U', text: 'Where the hub GETs to see whether the service is up (a 2xx). None: its health stays unknown.' },
    { flag: '--first-party', text: 'One of our own services: no consent screen, and its clients may ask for tokens for other services.' },
    { flag: '--default-tier T', text: 'Tier a person gets on joining the service (e.g. basic).' },
  ],
  examples: ['uniqverse services create --slug vezepychat --name VEZEPyChat --url http://localhost:8006 --first-party --default-tier basic'],
  async run(ctx, values) {
    const { createService, publicService } = await import('../catalog/services.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const service = publicService(
      await createService(
        ctx.db,
        {
          slug: requiredString(values, 'slug'),
          name: requiredString(values, 'name'),
          url: stringValue(values, 'url'),
          healthUrl: stringValue(values, 'health-url'),
          firstParty: flag(values, 'first-party'),
          defaultTier: stringValue(values, 'default-tier'),
        },
        cliActor(),
      ),
    );
    return {
      json: { ...service },
      text: [
        `Registered ${service.name} (${service.slug})${service.first_party ? ', first party' : ''}.`,
        `  resource: ${service.resource}`,
        ...(service.default_tier ? [`  default tier: ${service.default_tier}`] : []),
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
