import { flag, requiredString, stringValue, type Command } from './command.ts';

export const servicesCreate: Command = {
  name: 'services create',
  summary: 'Register a service (a resource server with its own token audience).',
  usage: 'services create --slug S --name N [--url U] [--first-party] [--default-tier T] [--json]',
  options: {
    slug: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string' },
    'first-party': { type: 'boolean' },
    'default-tier': { type: 'string' },
  },
  required: ['slug', 'name'],
  fieldFlags: { firstParty: '--first-party', defaultTier: '--default-tier' },
  optionHelp: [
    { flag: '--slug S', text: 'Short name: 2 to 40 lower-case letters, digits or dashes. Its resource is urn:veze:service:<slug>.' },
    { flag: '--name N', text: 'Name people see.' },
    { flag: '--url U', text: 'Home page of the service (http or https).' },
    { flag: '--first-party', text: 'One of our own services: no consent screen, and its clients may ask for tokens for other services.' },
    { flag: '--default-tier T', text: 'Tier a person gets on joining the service (e.g. basic).' },
  ],
  examples: ['uniqverse services create --slug vezepychat --name VEZEPyChat --url http://localhost:8006 --first-party --default-tier basic'],
  async run(ctx, values) {
    const { createService, publicService } = await import('../hub/services.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const service = publicService(
      await createService(
        ctx.db,
        {
          slug: requiredString(values, 'slug'),
          name: requiredString(values, 'name'),
          url: stringValue(values, 'url'),
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
