import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext, type ValidationRule } from 'graphql';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { graphqlCodes } from './errors.ts';

/** The limits of one /graphql document (docs/integrating.md says them). */
export const graphqlLimits = { depth: 8, aliases: 15, cost: 1000 } as const;

/** A rule whose every report carries `code`: graphql-armor's rules report plain errors. */
function withCode(rule: ValidationRule, code: string): ValidationRule {
  return (context: ValidationContext) =>
    rule(
      new Proxy(context, {
        get(target, property) {
          if (property === 'reportError') {
            return (error: GraphQLError) => target.reportError(new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code } }));
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
    );
}

const limitRules: readonly ValidationRule[] = [
  withCode(maxDepthRule({ n: graphqlLimits.depth, exposeLimits: true, flattenFragments: true }), graphqlCodes.depth),
  withCode(maxAliasesRule({ n: graphqlLimits.aliases, exposeLimits: true }), graphqlCodes.aliases),
  withCode(costLimitRule({ maxCost: graphqlLimits.cost, exposeLimits: true }), graphqlCodes.cost),
];

const noIntrospection = withCode(NoSchemaIntrospectionCustomRule, graphqlCodes.introspection);

/**
 * graphql-js's own rules, then depth, alias and cost limits (graphql-armor); in production an
 * anonymous caller may not read the schema (`__schema`, `__type`): a signed-in caller may.
 */
export function validationRules(specified: readonly ValidationRule[], options: { anonymous: boolean; production: boolean }): ValidationRule[] {
  return [...specified, ...limitRules, ...(options.anonymous && options.production ? [noIntrospection] : [])];
}
