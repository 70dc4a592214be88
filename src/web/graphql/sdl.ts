import { printSchema } from 'graphql';
import { hubSchema } from './schema.ts';

/** docs/schema.graphql as it must read: a header, then the schema's SDL. */
export function graphqlSdl(): string {
  return `# The schema of /graphql (docs/integrating.md, "The GraphQL API").\n# Generated from src/web/graphql/schema.ts by \`npm run graphql:schema\`: do not edit by hand.\n\n${printSchema(hubSchema)}\n`;
}
