import { readFile } from 'node:fs/promises';
import { flag, requiredString, stringValue, UsageError, type Command } from './command.ts';

export const servicesGraph: Command = {
  name: 'services graph',
  summary: 'Declare the part of /graphql a service answers (a REST source), or take it out.',
  usage: 'services graph --slug S (--file F | --remove) [--json]',
  options: {
    slug: { type: 'string' },
    file: { type: 'string' },
    remove: { type: 'boolean' },
  },
  required: ['slug'],
  optionHelp: [
    { flag: '--slug S', text: 'The service.' },
    { flag: '--file F', text: 'GraphQL SDL: its types, and "extend type Query" with fields that each carry @rest(path: "/...", pick: "...").' },
    { flag: '--remove', text: 'Take the service\'s fields out of /graphql.' },
  ],
  notes: [
    'The hub answers such a field with GET <the service\'s upstream URL><path> through the gateway, with a token made for the service, and the field\'s arguments as query parameters (or {name} in the path). A service that is down makes only its own fields null.',
    'Every hub instance serves a change within 30 seconds. docs/integrating.md, "Your fields in /graphql", has the rules.',
  ],
  examples: ['uniqverse services graph --slug vezepyemail --file seeds/graph-sources/vezepyemail.graphql'],
  check(values) {
    if (Boolean(values.file) === Boolean(values.remove)) throw new UsageError('Give either --file F or --remove.');
  },
  async run(ctx, values) {
    const slug = requiredString(values, 'slug');
    const { cliActor } = await import('../audit/actors.ts');
    const { declareGraphSource, removeGraphSource } = await import('../catalog/graph-sources.ts');
    if (flag(values, 'remove')) {
      const removed = await removeGraphSource(ctx.db, slug, cliActor());
      return { json: { slug, fields: [], removed }, text: removed ? `${slug} answers no field of /graphql now.` : `${slug} had declared no field of /graphql.` };
    }
    const file = stringValue(values, 'file')!;
    let sdl: string;
    try {
      sdl = await readFile(file, 'utf8');
    } catch {
      throw new UsageError(`Cannot read ${file}.`);
    }
    const { hubSchema } = await import('../web/graphql/schema.ts');
    const { graphSourceCheck } = await import('../catalog/graph-declarations.ts');
    const fields = await declareGraphSource(ctx.db, slug, sdl, graphSourceCheck(hubSchema), cliActor());
    return { json: { slug, fields }, text: `${slug} answers ${fields.map((f) => `Query.${f}`).join(', ')} in /graphql.` };
  },
};
