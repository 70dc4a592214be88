import { GraphQLError } from 'graphql';
import { AppError, type ErrorCode } from '../../platform/errors.ts';
import { InvalidToken } from '../../oidc/hub-token.ts';
import type { Logger } from '../../platform/logger.ts';

/** The codes a /graphql error carries in `extensions.code` (docs/integrating.md, "The GraphQL API"). */
export const graphqlCodes = {
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  csrf: 'CSRF_FAILED',
  notFound: 'NOT_FOUND',
  badInput: 'BAD_USER_INPUT',
  conflict: 'CONFLICT',
  rateLimited: 'RATE_LIMITED',
  busy: 'SERVICE_UNAVAILABLE',
  parse: 'GRAPHQL_PARSE_FAILED',
  validation: 'GRAPHQL_VALIDATION_FAILED',
  depth: 'QUERY_TOO_DEEP',
  aliases: 'TOO_MANY_ALIASES',
  cost: 'QUERY_TOO_COSTLY',
  introspection: 'INTROSPECTION_DISABLED',
  internal: 'INTERNAL_SERVER_ERROR',
} as const;

const byAppCode: Record<ErrorCode, string> = {
  bad_request: graphqlCodes.badInput,
  invalid_input: graphqlCodes.badInput,
  unauthorized: graphqlCodes.unauthenticated,
  forbidden: graphqlCodes.forbidden,
  not_found: graphqlCodes.notFound,
  conflict: graphqlCodes.conflict,
  csrf_failed: graphqlCodes.csrf,
  rate_limited: graphqlCodes.rateLimited,
  busy: graphqlCodes.busy,
  payload_too_large: graphqlCodes.badInput,
  unsupported_media_type: graphqlCodes.badInput,
  // The gateway's upstream failed or timed out: like busy, worth trying again later.
  bad_gateway: graphqlCodes.busy,
  gateway_timeout: graphqlCodes.busy,
  internal: graphqlCodes.internal,
};

/** An AppError's code as a GraphQL error code. */
export const codeOf = (error: AppError): string => byAppCode[error.code];

/** A GraphQL error with a code of graphqlCodes. */
export const coded = (code: string, message: string): GraphQLError => new GraphQLError(message, { extensions: { code } });

/**
 * Every error in a /graphql answer, shaped once: a domain's AppError keeps its message (and the
 * fields of bad input) under its code; an error graphql-js wrote (parse, validation) gets its
 * code; anything else is logged and answered "something went wrong", never with its insides.
 */
export function formatGraphqlError(logger: Logger) {
  return (error: Readonly<GraphQLError | Error>): GraphQLError => {
    if (!(error instanceof GraphQLError)) return internal(logger, error);
    if (error.extensions?.code) return error;
    const original = error.originalError;
    if (original instanceof AppError && (original.expose || original instanceof InvalidToken)) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        positions: error.positions,
        path: error.path,
        extensions: { code: codeOf(original), ...(original.fields ? { fields: original.fields } : {}) },
      });
    }
    if (original && !(original instanceof GraphQLError)) return internal(logger, original, error);
    const code = /^Syntax Error/.test(error.message) ? graphqlCodes.parse : graphqlCodes.validation;
    return new GraphQLError(error.message, { nodes: error.nodes, positions: error.positions, path: error.path, extensions: { code } });
  };
}

function internal(logger: Logger, cause: unknown, error?: GraphQLError): GraphQLError {
  logger.error({ err: cause }, 'GraphQL resolver failed');
  return new GraphQLError('Something went wrong on our side.', { ...(error ? { nodes: error.nodes, path: error.path } : {}), extensions: { code: graphqlCodes.internal } });
}
