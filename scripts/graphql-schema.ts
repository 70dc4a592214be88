// Writes docs/schema.graphql, the SDL of /graphql, from the schema in src/web/graphql/schema.ts.
// test/graphql/schema.test.ts fails when the file and the schema differ.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { graphqlSdl } from '../src/web/graphql/sdl.ts';

const target = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'schema.graphql');
writeFileSync(target, graphqlSdl());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
