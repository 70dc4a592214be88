import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext, type ValidationRule } from 'graphql';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { graphqlCodes } from './errors.ts';

/** The limits of one /graphql document (docs/integrating.md says them). */
export const graphqlLimits = { depth: 8, aliases: 15, cost: 10_000 } as const;

/** A rule whose every report carries `code`: graphql-armor's rules report plain errors. */
function withCode(rule: ValidationRule, code: string): ValidationRule {
  return (context: ValidationContext) =>
    rule(
      new Proxy(context, {
        get(target, property) {
          if (property === 'reportError') {
            return (error: GraphQLError) => target.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { nodes: error.nodes, extensions: { ...error.extensions, code } }));
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
    );
}

// graphql-armor throws a refusal out of validation unless told to report it (then it is one of the document's errors).
const report = { propagateOnRejection: false, onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)], exposeLimits: true };

const limitRules: readonly ValidationRule[] = [
  withCode(maxDepthRule({ n: graphqlLimits.depth, flattenFragments: true, ...report }), graphqlCodes.depth),
  withCode(maxAliasesRule({ n: graphqlLimits.aliases, ...report }), graphqlCodes.aliases),
  withCode(costLimitRule({ maxCost: graphqlLimits.cost, ...report }), graphqlCodes.cost),
];

const noIntrospection = withCode(NoSchemaIntrospectionCustomRule, graphqlCodes.introspection);

/**
 * graphql-js's own rules, then depth, alias and cost limits (graphql-armor); in production an
 * anonymous caller may not read the schema (`__schema`, `__type`): a signed-in caller may.
 */
export function validationRules(specified: readonly ValidationRule[], options: { anonymous: boolean; production: boolean }): ValidationRule[] {
  return [...specified, ...limitRules, ...(options.anonymous && options.production ? [noIntrospection] : [])];
}
