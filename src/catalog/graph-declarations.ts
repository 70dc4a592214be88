import {
  Kind,
  extendSchema,
  getNamedType,
  isInputType,
  parse,
  validateSchema,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  type GraphQLFieldResolver,
} from 'graphql';
import { badRequest } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';

/** How a service says which path of its API answers a Query field of its (graph-sources.ts stores the declarations). */
export const restDirectiveSdl = `"""
Declared by a service's graph source: the field is answered by GET <the service's upstream URL><path>,
through the gateway, with the field's arguments as query parameters (or {name} in the path).
"""
directive @rest(
  "The path under the service's upstream URL, starting with /."
  path: String!
  "The member of the JSON answer that is the field's value (the whole answer when absent)."
  pick: String
) on FIELD_DEFINITION`;

/** The most a declaration may weigh: a service's part of the graph is small. */
export const maxSourceBytes = 16 * 1024;

/** A service's declared part of /graphql. */
export interface GraphSource {
  slug: string;
  /** The service's name, for errors a person reads. */
  name: string;
  sdl: string;
}

/** A Query field a service answers, and where. */
export interface RestField {
  service: string;
  serviceName: string;
  field: string;
  path: string;
  pick: string | null;
}

/** The hub's schema with every service's declared fields, and where each of them is answered. */
export interface ServiceGraph {
  schema: GraphQLSchema;
  fields: Map<string, RestField>;
  /** The sources that could not join (a name the hub has taken since they were declared), with why. */
  skipped: Array<{ slug: string; reason: string }>;
}

const withPlaceholders = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function stringArgument(directive: ConstDirectiveNode, name: string): string | null | undefined {
  const argument = directive.arguments?.find((a) => a.name.value === name);
  if (!argument) return undefined;
  return argument.value.kind === Kind.STRING ? argument.value.value : null;
}

function restOf(slug: string, field: FieldDefinitionNode): { path: string; pick: string | null } {
  const rests = (field.directives ?? []).filter((d) => d.name.value === 'rest');
  const where = `${slug}: Query.${field.name.value}`;
  if (rests.length !== 1) throw badRequest(`${where} needs one @rest(path: "/...") saying which path of the service answers it.`);
  const path = stringArgument(rests[0]!, 'path');
  const pick = stringArgument(rests[0]!, 'pick');
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || /(^|\/)\.\.?(\/|$)|[\s?#\\]|%2e|%2f|%5c/i.test(path)) {
    throw badRequest(`${where}: @rest(path) must be a path under the service's URL, such as "/inbox" (no "..", query or fragment).`);
  }
  if (pick === null) throw badRequest(`${where}: @rest(pick) must be a string.`);
  const args = new Set((field.arguments ?? []).map((a) => a.name.value));
  for (const [, name] of path.matchAll(withPlaceholders)) {
    if (!args.has(name!)) throw badRequest(`${where}: the path names {${name}}, which is not an argument of the field.`);
  }
  return { path, pick: pick ?? null };
}

/**
 * Checks one service's declaration against the schema so far and adds it: only object and enum
 * types of new names, and `extend type Query` with fields of new names, each nullable (a service
 * that is down makes only its own fields null) and each with one @rest. Throws AppError (400).
 */
function extendWith(graph: ServiceGraph, source: GraphSource): ServiceGraph {
  if (Buffer.byteLength(source.sdl) > maxSourceBytes) throw badRequest(`The declaration of ${source.slug} is over ${maxSourceBytes / 1024} KB.`);
  let document: DocumentNode;
  try {
    document = parse(source.sdl, { noLocation: false });
  } catch (error) {
    throw badRequest(`The declaration of ${source.slug} does not parse: ${(error as Error).message}`);
  }
  const added = new Map<string, RestField>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.ENUM_TYPE_DEFINITION) {
      const name = definition.name.value;
      if (name === 'Query' || graph.schema.getType(name)) throw badRequest(`${source.slug}: the type name ${name} is taken; choose another (prefix it with the service's name).`);
      if (definition.kind === Kind.OBJECT_TYPE_DEFINITION) {
        for (const field of definition.fields ?? []) {
          if (field.directives?.length) throw badRequest(`${source.slug}: ${name}.${field.name.value} may not carry directives; @rest belongs on Query fields.`);
        }
      }
      continue;
    }
    if (definition.kind === Kind.OBJECT_TYPE_EXTENSION && definition.name.value === 'Query' && !definition.directives?.length && !definition.interfaces?.length) {
      for (const field of definition.fields ?? []) {
        const name = field.name.value;
        if (graph.schema.getQueryType()?.getFields()[name] || added.has(name)) throw badRequest(`${source.slug}: the field Query.${name} is taken; choose another.`);
        if (field.type.kind === Kind.NON_NULL_TYPE) throw badRequest(`${source.slug}: Query.${name} must be nullable, so that only it is null while the service is down.`);
        added.set(name, { service: source.slug, serviceName: source.name, field: name, ...restOf(source.slug, field) });
      }
      continue;
    }
    throw badRequest(`${source.slug}: a declaration holds object and enum types and one "extend type Query { ... }" with @rest fields; nothing else.`);
  }
  if (added.size === 0) throw badRequest(`${source.slug}: the declaration adds no Query field.`);

  let schema: GraphQLSchema;
  try {
    schema = extendSchema(graph.schema, document);
  } catch (error) {
    throw badRequest(`${source.slug}: ${(error as Error).message}`);
  }
  const problems = validateSchema(schema);
  if (problems.length) throw badRequest(`${source.slug}: ${problems.map((p) => p.message).join(' ')}`);
  const queryFields = schema.getQueryType()!.getFields();
  for (const name of added.keys()) {
    for (const argument of queryFields[name]!.args) {
      if (!isInputType(argument.type) || getNamedType(argument.type).astNode?.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
        throw badRequest(`${source.slug}: Query.${name}(${argument.name}) must be a scalar or an enum.`);
      }
    }
  }
  return { schema, fields: new Map([...graph.fields, ...added]), skipped: graph.skipped };
}

/** The base every service extends: the hub's schema and the @rest directive. */
function baseGraph(hubSchema: GraphQLSchema): ServiceGraph {
  return { schema: extendSchema(hubSchema, parse(restDirectiveSdl)), fields: new Map(), skipped: [] };
}

/**
 * Checks declarations as a whole, before one is saved: each in turn must join the hub's schema and
 * the ones before it. Throws AppError (400) naming the service and what is wrong.
 */
export function checkGraphSources(hubSchema: GraphQLSchema, sources: readonly GraphSource[]): ServiceGraph {
  return sources.reduce(extendWith, baseGraph(hubSchema));
}

/** The path with the arguments the field was given: named ones in it, the rest as its query. */
export function pathWithArguments(path: string, args: Record<string, unknown>): string {
  const rest = new URLSearchParams();
  const inPath = new Set<string>();
  const filled = path.replace(withPlaceholders, (_, name: string) => {
    inPath.add(name);
    const value = String(args[name] ?? '');
    // A URL would read "." and ".." as steps up the path, out of the segment the service declared.
    if (value === '.' || value === '..' || value === '') throw badRequest(`${name} may not be empty, "." or "..".`, { [name]: 'Not a path segment.' });
    return encodeURIComponent(value);
  });
  for (const [name, value] of Object.entries(args)) {
    if (inPath.has(name) || value === null || value === undefined) continue;
    rest.append(name, String(value));
  }
  const query = rest.toString();
  return query ? `${filled}?${query}` : filled;
}

/**
 * The hub's schema with every source that still joins it (a source that no longer does, say the hub
 * took one of its names since, is left out and logged, never the whole graph), each declared field
 * resolved by `resolveField`.
 */
export function buildServiceGraph(
  hubSchema: GraphQLSchema,
  sources: readonly GraphSource[],
  resolveField: (field: RestField) => GraphQLFieldResolver<unknown, unknown>,
  logger?: Logger,
): ServiceGraph {
  let graph = baseGraph(hubSchema);
  for (const source of sources) {
    try {
      graph = extendWith(graph, source);
    } catch (error) {
      const reason = (error as Error).message;
      logger?.warn({ service: source.slug, reason }, 'graph source left out of /graphql');
      graph = { ...graph, skipped: [...graph.skipped, { slug: source.slug, reason }] };
    }
  }
  const queryFields = graph.schema.getQueryType()!.getFields();
  for (const field of graph.fields.values()) queryFields[field.field]!.resolve = resolveField(field);
  return graph;
}

/** The check declareGraphSource runs (src/catalog/graph-sources.ts): the fields the service's declaration answers. */
export const graphSourceCheck = (hubSchema: GraphQLSchema) => (sources: GraphSource[], slug: string): string[] =>
  [...checkGraphSources(hubSchema, sources).fields.values()].filter((f) => f.service === slug).map((f) => f.field);
