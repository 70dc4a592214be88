import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Logger } from '../../platform/logger.ts';
import { formatGraphqlError } from './errors.ts';

/** A result whose errors carry their codes (GraphQL over SSE and graphql-ws format nothing themselves). */
export function withCodes(logger: Logger) {
  const format = formatGraphqlError(logger);
  return <T extends ExecutionResult>(result: T): T => (result.errors ? { ...result, errors: result.errors.map((error) => format(error instanceof GraphQLError ? error : new GraphQLError(String(error)))) } : result);
}
