import test from 'ava';
import { readFileSync } from 'node:fs';
import { graphqlSdl } from '../../src/web/graphql/sdl.ts';

test('docs/schema.graphql is the schema /graphql serves', (t) => {
  const checkedIn = readFileSync(new URL('../../docs/schema.graphql', import.meta.url), 'utf8');
  t.true(checkedIn === graphqlSdl(), 'docs/schema.graphql differs from src/web/graphql/schema.ts: run `npm run graphql:schema` and commit the file.');
});
