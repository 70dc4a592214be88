import { readFileSync, readdirSync } from 'node:fs';
import { printSchema } from 'graphql';
import { hubSchema } from './schema.ts';
import { checkGraphSources, type GraphSource } from '../../catalog/graph-declarations.ts';

const seedSources = new URL('../../../seeds/graph-sources/', import.meta.url);

/** The seed's services' declared parts of /graphql (seeds/graph-sources/<slug>.graphql), as `uniqverse seed` declares them. */
export function seedGraphSources(): GraphSource[] {
  return readdirSync(seedSources)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => ({ slug: file.replace(/\.graphql$/, ''), name: file.replace(/\.graphql$/, ''), sdl: readFileSync(new URL(file, seedSources), 'utf8') }));
}

/** docs/schema.graphql as it must read: a header, then the SDL of a seeded hub's /graphql. */
export function graphqlSdl(): string {
  const schema = checkGraphSources(hubSchema, seedGraphSources()).schema;
  return [
    '# The schema of /graphql (docs/integrating.md, "The GraphQL API"), as a seeded hub serves it: the hub\'s own',
    '# fields and the fields the seed\'s services declare (seeds/graph-sources; `uniqverse services graph`).',
    '# Generated from src/web/graphql/schema.ts by `npm run graphql:schema`: do not edit by hand.',
    '',
    printSchema(schema),
    '',
  ].join('\n');
}
