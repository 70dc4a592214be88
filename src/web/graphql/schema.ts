import DataLoader from 'dataloader';
import {
  GraphQLEnumType,
  GraphQLBoolean,
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  Kind,
  type GraphQLFieldConfig,
  type GraphQLNullableType,
  type ValueNode,
} from 'graphql';
import type { Knex } from 'knex';
import { AppError, notFound } from '../../platform/errors.ts';
import type { AuditOrigin } from '../../audit/audit-log.ts';
import { todayFor, type NotableItem, type ServiceDay, type Today } from '../../events/today.ts';
import { activeServices, entitlementsOf, type HubEntitlement, type HubService } from '../../catalog/hub-catalog.ts';
import { listActivity } from '../../outbox/activity.ts';
import type { HubEvent } from '../../outbox/outbox.ts';
import { listSessions, endSession, type SessionView } from '../../sessions/sessions.ts';
import { servicesFor as privacyOf, type ServiceAccess } from '../../privacy/service-access.ts';
import { setConsent } from '../../privacy/privacy.ts';
import { listDevices, renameDevice, revokeDevice, type PublicDevice } from '../../devices/device-apps.ts';
import type { Caller } from '../http/callers.ts';
import type { PersonCaller } from './callers.ts';
import type { LiveMessage } from './live.ts';
import { parseStreamId } from '../../events/stream-ids.ts';

/** What every resolver of one request shares: the caller, where the request came from, and its loaders. */
export interface GraphqlContext {
  db: Knex;
  caller: Caller | null;
  origin: AuditOrigin;
  /** A person's entitlements by service slug, read once per request however many services ask. */
  entitlements: DataLoader<string, HubEntitlement[]>;
  /** The live stream from `since` for this caller (GraphQL over SSE and graphql-ws); null over plain HTTP. */
  openLive: ((caller: PersonCaller, since: string | null) => AsyncIterableIterator<LiveMessage>) | null;
}

/** The context of one request; its loaders live as long as the request. */
export function graphqlContext(db: Knex, caller: Caller | null, origin: AuditOrigin, openLive: GraphqlContext['openLive'] = null): GraphqlContext {
  const entitlements = new DataLoader<string, HubEntitlement[]>(async (slugs) => {
    if (caller?.kind !== 'person') return slugs.map(() => []);
    const all = await entitlementsOf(db, caller.user.id);
    return slugs.map((slug) => all.filter((e) => e.service === slug));
  });
  return { db, caller, origin, entitlements, openLive };
}

/** The person the request acts for, or an UNAUTHENTICATED / FORBIDDEN error. */
export function person(context: GraphqlContext): PersonCaller {
  const { caller } = context;
  if (!caller) throw new AppError('unauthorized', 'Sign in: send a person\'s access token for the hub (scope "hub") or use the portal\'s session.');
  if (caller.kind !== 'person') throw new AppError('forbidden', 'This field is about a person: a service\'s own token sees only its service.');
  return caller;
}

const nonNull = <T extends GraphQLNullableType>(type: T) => new GraphQLNonNull(type);
const list = <T extends GraphQLNullableType>(type: T) => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type)));
const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

function literalValue(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literalValue(f.value)]));
    default:
      return null;
  }
}

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value: an event\'s `data` as docs/events.md describes it for its type.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalValue,
});

const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An instant as an ISO 8601 string in UTC, such as 2030-01-01T00:00:00.000Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : value),
});

const Me = new GraphQLObjectType<PersonCaller['user'], GraphqlContext>({
  name: 'Me',
  description: 'The person the request acts for.',
  fields: {
    id: { type: nonNull(GraphQLID), description: 'Their `sub`.' },
    displayName: { type: nonNull(GraphQLString), resolve: (user) => user.name },
    email: { type: nonNull(GraphQLString) },
    emailVerified: { type: nonNull(GraphQLBoolean), resolve: (user) => user.email_verified },
  },
});

const Entitlement = new GraphQLObjectType<HubEntitlement, GraphqlContext>({
  name: 'Entitlement',
  description: 'A tier the person holds at a service.',
  fields: {
    service: { type: nonNull(GraphQLString), description: 'The service\'s slug.' },
    serviceName: { type: nonNull(GraphQLString), resolve: (e) => e.service_name },
    tier: { type: nonNull(GraphQLString) },
    expiresAt: { type: DateTime, description: 'Null: it does not end.', resolve: (e) => e.expires_at },
    active: { type: nonNull(GraphQLBoolean), description: 'Whether it is in force now.' },
  },
});

const ServiceHealth = new GraphQLEnumType({
  name: 'ServiceHealth',
  description: 'Whether a service answers its health URL.',
  values: {
    UP: { value: 'up', description: 'Its health URL answered 2xx at the last check.' },
    DOWN: { value: 'down', description: 'Its last two checks or more failed.' },
    UNKNOWN: { value: 'unknown', description: 'Not checked yet, or it has no health URL.' },
  },
});

const Service = new GraphQLObjectType<HubService, GraphqlContext>({
  name: 'Service',
  description: 'A service of the catalogue.',
  fields: {
    slug: { type: nonNull(GraphQLString) },
    name: { type: nonNull(GraphQLString) },
    status: { type: nonNull(GraphQLString), description: '`active` or `suspended`.' },
    health: { type: nonNull(ServiceHealth), description: 'What the hub\'s last checks of its health URL saw.' },
    url: { type: GraphQLString },
    entitlements: {
      type: list(Entitlement),
      description: 'The person\'s tiers at this service (none for a service\'s own token).',
      resolve: (service, _args, context) => context.entitlements.load(service.slug),
    },
  },
});

const Device = new GraphQLObjectType<PublicDevice, GraphqlContext>({
  name: 'Device',
  description: 'A device app the person registered (POST /hub/devices).',
  fields: {
    id: { type: nonNull(GraphQLID) },
    kind: { type: nonNull(GraphQLString) },
    name: { type: GraphQLString },
    os: { type: nonNull(GraphQLString) },
    appVersion: { type: nonNull(GraphQLString), resolve: (d) => d.app_version },
    clientId: { type: GraphQLString, resolve: (d) => d.client_id },
    push: { type: nonNull(GraphQLBoolean), description: 'Whether the hub can push to it.' },
    createdAt: { type: nonNull(DateTime), resolve: (d) => d.created_at },
    lastSeenAt: { type: nonNull(DateTime), resolve: (d) => d.last_seen_at },
  },
});

const Session = new GraphQLObjectType<SessionView, GraphqlContext>({
  name: 'Session',
  description: 'A browser or device signed in to the hub.',
  fields: {
    id: { type: nonNull(GraphQLID), resolve: (s) => s.uid },
    current: { type: nonNull(GraphQLBoolean), description: 'The portal session this request came with.' },
    device: { type: nonNull(GraphQLString), description: 'What it is, in words ("Chrome on macOS").', resolve: (s) => s.device.name },
    ip: { type: GraphQLString },
    signedInAt: { type: DateTime, resolve: (s) => iso(s.signedInAt) },
    lastActiveAt: { type: DateTime, resolve: (s) => iso(s.lastActiveAt) },
    services: { type: list(GraphQLString), description: 'The services it signed in to, by name.' },
    mfa: { type: nonNull(GraphQLBoolean), description: 'Signed in with a second factor.' },
  },
});

const Event = new GraphQLObjectType<HubEvent, GraphqlContext>({
  name: 'Event',
  description: 'One event of the person\'s (docs/events.md).',
  fields: {
    id: { type: nonNull(GraphQLID) },
    type: { type: nonNull(GraphQLString) },
    service: { type: GraphQLString },
    occurredAt: { type: nonNull(DateTime), resolve: (e) => e.occurred_at },
    data: { type: nonNull(JSONScalar) },
  },
});

const PageInfo = new GraphQLObjectType<{ hasNextPage: boolean; endCursor: string | null }, GraphqlContext>({
  name: 'PageInfo',
  fields: { hasNextPage: { type: nonNull(GraphQLBoolean) }, endCursor: { type: GraphQLString, description: 'Pass as `after` for the next (older) page.' } },
});

const ActivityConnection = new GraphQLObjectType<{ nodes: HubEvent[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }, GraphqlContext>({
  name: 'ActivityConnection',
  description: 'A page of the person\'s events, newest first.',
  fields: { nodes: { type: list(Event) }, pageInfo: { type: nonNull(PageInfo) } },
});

const Privacy = new GraphQLObjectType<ServiceAccess, GraphqlContext>({
  name: 'PrivacyChoice',
  description: 'What one service the person uses may receive, as /account/privacy shows it.',
  fields: {
    service: { type: nonNull(GraphQLString), description: 'The service\'s slug.', resolve: (s) => s.slug },
    serviceName: { type: nonNull(GraphQLString), resolve: (s) => s.name },
    connected: { type: nonNull(GraphQLBoolean), description: 'The person signed in to it and it still holds a grant.' },
    sees: { type: list(GraphQLString), description: 'What it may see, in words.' },
    shareProfile: { type: nonNull(GraphQLBoolean), resolve: (s) => s.consent.profile },
    shareEmail: { type: nonNull(GraphQLBoolean), resolve: (s) => s.consent.email },
    shareActivity: { type: nonNull(GraphQLBoolean), resolve: (s) => s.consent.activity },
  },
});

const TodayServiceRef = new GraphQLObjectType<{ slug: string; name: string }, GraphqlContext>({
  name: 'TodayService',
  description: 'The service a group of the day is about.',
  fields: { slug: { type: nonNull(GraphQLString) }, name: { type: nonNull(GraphQLString) } },
});

const NotableItemType = new GraphQLObjectType<NotableItem, GraphqlContext>({
  name: 'NotableItem',
  description: 'Something of the day worth naming: a sign-in on a new device, a tier granted, changed, revoked or expired, an event a service posted.',
  fields: {
    type: { type: nonNull(GraphQLString), description: 'The event\'s type (docs/events.md).' },
    at: { type: nonNull(DateTime), resolve: (item) => item.at.toISOString() },
    summary: { type: nonNull(GraphQLString), description: 'In words, in the person\'s language.' },
  },
});

const ServiceDayType = new GraphQLObjectType<ServiceDay, GraphqlContext>({
  name: 'ServiceDay',
  description: 'One service\'s part of the person\'s day.',
  fields: {
    service: { type: TodayServiceRef, description: 'Null: the person\'s account itself (the portal\'s sign-ins, settings).' },
    count: { type: nonNull(GraphQLInt), description: 'How many events.' },
    notable: { type: list(NotableItemType), description: 'The ones worth naming, oldest first.' },
  },
});

const TodayType = new GraphQLObjectType<Today, GraphqlContext>({
  name: 'Today',
  description: 'The person\'s day so far across the services, in their time zone.',
  fields: {
    date: { type: nonNull(GraphQLString), description: 'YYYY-MM-DD in the person\'s time zone.' },
    timeZone: { type: nonNull(GraphQLString), description: 'Their saved time zone (UTC until they choose one).' },
    start: { type: nonNull(DateTime), description: 'When the day began (a day the clocks change is 23 or 25 hours long).', resolve: (day) => day.start.toISOString() },
    end: { type: nonNull(DateTime), resolve: (day) => day.end.toISOString() },
    count: { type: nonNull(GraphQLInt), description: 'Events of the day, every service together.' },
    services: { type: list(ServiceDayType), description: 'The account\'s own group first, then services by name.' },
  },
});

type Field<Args = Record<string, unknown>> = GraphQLFieldConfig<unknown, GraphqlContext, Args>;

const services: Field = {
  type: list(Service),
  description: 'Every active service (a service\'s own token: only its own).',
  resolve: async (_root, _args, context) => {
    const all = await activeServices(context.db);
    const caller = context.caller;
    if (caller?.kind === 'service') return all.filter((s) => s.id === caller.service.id);
    person(context);
    return all;
  },
};

const activity: Field<{ first: number; after?: string | null; service?: string | null }> = {
  type: nonNull(ActivityConnection),
  description: 'The person\'s events across every service, newest first, a page at a time.',
  args: {
    first: { type: nonNull(GraphQLInt), defaultValue: 25, description: '1 to 100.' },
    after: { type: GraphQLString, description: 'The `endCursor` of the previous page.' },
    service: { type: GraphQLString, description: 'Only this service\'s events (its slug).' },
  },
  resolve: async (_root, args, context) => {
    const page = await listActivity(context.db, person(context).user.id, {
      limit: args.first,
      ...(args.after ? { before: args.after } : {}),
      ...(args.service ? { service: args.service } : {}),
    });
    return { nodes: page.items, pageInfo: { hasNextPage: page.next !== null, endCursor: page.next } };
  },
};

const Query = new GraphQLObjectType<unknown, GraphqlContext>({
  name: 'Query',
  fields: {
    me: { type: nonNull(Me), description: 'The person the request acts for.', resolve: (_root, _args, context) => person(context).user },
    services,
    entitlements: { type: list(Entitlement), description: 'The person\'s tiers at every service.', resolve: (_root, _args, context) => entitlementsOf(context.db, person(context).user.id) },
    devices: { type: list(Device), description: 'The person\'s registered device apps.', resolve: (_root, _args, context) => listDevices(context.db, person(context).user.id) },
    sessions: {
      type: list(Session),
      description: 'The person\'s signed-in browsers and devices, the current one first.',
      resolve: (_root, _args, context) => {
        const me = person(context);
        return listSessions(context.db, me.user.id, me.session?.uid ?? null);
      },
    },
    activity,
    today: { type: nonNull(TodayType), description: 'What happened across the person\'s services today (their time zone), grouped by service.', resolve: (_root, _args, context) => todayFor(context.db, person(context).user) },
    privacy: { type: list(Privacy), description: 'What each service the person uses may receive.', resolve: (_root, _args, context) => privacyOf(context.db, person(context).user.id) },
  },
});

const Mutation = new GraphQLObjectType<unknown, GraphqlContext>({
  name: 'Mutation',
  description: 'What the portal can change, each audited and announced as the portal does.',
  fields: {
    revokeDevice: {
      type: nonNull(GraphQLID),
      description: 'Removes a device: its grant, tokens, app passwords and streams end (device.revoked). Returns its id.',
      args: { id: { type: nonNull(GraphQLID) } },
      resolve: async (_root, args: { id: string }, context) => {
        const me = person(context);
        await revokeDevice(context.db, me.user.id, args.id, { actorId: me.user.id, ...context.origin });
        return args.id;
      },
    },
    renameDevice: {
      type: nonNull(Device),
      description: 'Gives a device a name of 1 to 80 characters (device.renamed).',
      args: { id: { type: nonNull(GraphQLID) }, name: { type: nonNull(GraphQLString) } },
      resolve: (_root, args: { id: string; name: string }, context) => {
        const me = person(context);
        return renameDevice(context.db, me.user.id, args.id, args.name, { actorId: me.user.id, ...context.origin });
      },
    },
    signOutSession: {
      type: nonNull(GraphQLID),
      description: 'Signs one session out, with its grants and tokens (session.revoked). Returns its id.',
      args: { id: { type: nonNull(GraphQLID) } },
      resolve: async (_root, args: { id: string }, context) => {
        const me = person(context);
        if (!/^[\w-]{8,64}$/.test(args.id)) throw notFound('That session has already ended.');
        await endSession(context.db, me.user.id, args.id, context.origin);
        return args.id;
      },
    },
    setPrivacy: {
      type: nonNull(Privacy),
      description: 'Turns what a service may receive on or off (consent.changed); a choice left out stays as it is.',
      args: { service: { type: nonNull(GraphQLString) }, profile: { type: GraphQLBoolean }, email: { type: GraphQLBoolean }, activity: { type: GraphQLBoolean } },
      resolve: async (_root, args: { service: string; profile?: boolean | null; email?: boolean | null; activity?: boolean | null }, context) => {
        const me = person(context);
        const before = (await privacyOf(context.db, me.user.id)).find((s) => s.slug === args.service);
        if (!before) throw notFound('You do not use that service.');
        const choice = { profile: args.profile ?? before.consent.profile, email: args.email ?? before.consent.email, activity: args.activity ?? before.consent.activity };
        await setConsent(context.db, me.user.id, before.slug, choice, context.origin);
        return (await privacyOf(context.db, me.user.id)).find((s) => s.slug === args.service);
      },
    },
  },
});

const LiveMessageType = new GraphQLObjectType<LiveMessage, GraphqlContext>({
  name: 'LiveMessage',
  description: 'One message of the live stream, as /hub/events sends it.',
  fields: {
    kind: {
      type: nonNull(GraphQLString),
      description: '`ready` (the stream\'s position now), `event`, `resync` (more was missed than the stream keeps: reload your state), `revoked` (the token or sign-in ended: sign in again) or `reconnect` (the hub is stopping: subscribe again with `since`).',
    },
    streamId: { type: GraphQLString, description: 'Of `ready` and `event`: pass the last one as `since` to resume.' },
    event: { type: Event },
    reason: { type: GraphQLString, description: 'Why a `resync`.' },
  },
});

const Subscription = new GraphQLObjectType<unknown, GraphqlContext>({
  name: 'Subscription',
  fields: {
    events: {
      type: nonNull(LiveMessageType),
      description: 'The person\'s events as they happen, over GraphQL over SSE or graphql-ws, with the resume and privacy of /hub/events.',
      args: { since: { type: GraphQLString, description: 'Resume after this stream id (a `streamId` received before).' } },
      subscribe: (_root, args: { since?: string | null }, context) => {
        const me = person(context);
        const since = args.since?.trim() || null;
        if (since !== null && !parseStreamId(since)) throw new AppError('invalid_input', 'since must be a stream id such as 1714000000000-0.');
        if (!context.openLive) throw new AppError('bad_request', 'Subscribe over GraphQL over SSE (Accept: text/event-stream) or graphql-ws.');
        return context.openLive(me, since);
      },
      resolve: (message: unknown) => message as LiveMessage,
    },
  },
});

/** The schema of /graphql; docs/schema.graphql is its SDL (npm run graphql:schema). */
export const hubSchema = new GraphQLSchema({ query: Query, mutation: Mutation, subscription: Subscription });
