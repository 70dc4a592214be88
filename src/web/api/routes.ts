import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { koaBody } from 'koa-body';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import { AppError, forbidden } from '../../platform/errors.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { serviceActor } from '../../audit/actors.ts';
import { endTierAtService, setTierAtService } from '../../catalog/entitlements.ts';
import { listActivity } from '../../outbox/activity.ts';
import { postServiceEvent } from '../../events/service-events.ts';
import type { EventSystem } from '../../events/event-system.ts';
import { personApi, serviceApi, type PersonCaller, type ServiceCaller } from './auth.ts';
import type { CallerDeps } from '../http/callers.ts';
import { entitlementsOf, servicesFor } from '../../catalog/hub-catalog.ts';
import { listDevices, registerDevice, revokeDevice } from '../../devices/device-apps.ts';
import type { DeviceSightings } from '../../devices/device-sightings.ts';
import { issueLiveTicket } from '../../events/live-tickets.ts';
import { offerHandoff, openHandoffs, takeHandoff, type HandoffCaller } from '../../devices/handoffs.ts';
import { deviceSubscriptions, subscribeDevice, unsubscribe } from '../../devices/push-subscriptions.ts';
import { metricsAccess } from './metrics-access.ts';
import { loadOpenApi } from './openapi.ts';
import { eventsRateLimit, hubRateLimit, type RateLimitDeps } from './rate-limit.ts';
import type { HubCors } from './hub-cors.ts';

export interface ApiDeps extends CallerDeps, RateLimitDeps {
  db: Knex;
  metrics: Registry;
  metricsText: () => Promise<string>;
  /** METRICS_TOKEN; null: /metrics answers this machine only. */
  metricsToken: string | null;
  events: EventSystem;
  /** CORS for /hub/* per client (src/web/api/hub-cors.ts); its middleware runs before the routers. */
  cors: HubCors;
  /** Devices' "last seen", shared with the live routes. */
  sightings: DeviceSightings;
}

const jsonOnly = koaBody({ json: true, jsonStrict: true, urlencoded: false, text: false, multipart: false, jsonLimit: '64kb' });

/** JSON bodies only: anything else is a 415 that says so. */
export async function jsonBody(ctx: Context, next: Next) {
  if (!ctx.is('application/json')) throw new AppError('unsupported_media_type', 'Send the body as application/json.');
  await jsonOnly(ctx, next);
}

const person = (ctx: Context) => (ctx.state.caller as PersonCaller).user;

/** The REST API for device apps (/hub/*) and services (/api/v1/*), its description, and /metrics. */
export function apiRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const { db } = deps;
  const openapi = loadOpenApi();
  const { sightings } = deps;
  const signedIn = personApi(deps, sightings);
  const perPerson = hubRateLimit(deps);
  const asPerson = (ctx: Context, next: Next) =>
    signedIn(ctx, async () => {
      await deps.cors.allow(ctx, (ctx.state.caller as PersonCaller).clientId);
      await perPerson(ctx, next);
    });

  router.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = openapi;
  });

  router.get('/metrics', metricsAccess(deps.metricsToken), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metricsText();
  });

  router.get('/hub/services', asPerson, async (ctx) => {
    ctx.body = { services: await servicesFor(db, person(ctx).id) };
  });

  router.get('/hub/entitlements', asPerson, async (ctx) => {
    ctx.body = { entitlements: await entitlementsOf(db, person(ctx).id) };
  });

  router.get('/hub/devices', asPerson, async (ctx) => {
    ctx.body = { devices: await listDevices(db, person(ctx).id) };
  });

  router.post('/hub/devices', asPerson, jsonBody, async (ctx) => {
    const caller = ctx.state.caller as PersonCaller;
    const grantRef = caller.claims?.grantRef ?? null;
    const { device, created } = await registerDevice(db, caller.user.id, { clientId: caller.clientId, grantRef }, ctx.request.body);
    if (grantRef) sightings.forget(caller.user.id, grantRef);
    ctx.status = created ? 201 : 200;
    if (created) ctx.set('Location', `/hub/devices/${device.id}`);
    ctx.body = device;
  });

  router.delete('/hub/devices/:id', asPerson, async (ctx) => {
    await revokeDevice(db, person(ctx).id, ctx.params.id!, { actorId: person(ctx).id, ...requestOrigin(ctx) });
    ctx.status = 204;
  });

  /** A ticket for one EventSource or WebSocket at /hub/events (browsers cannot send the token there as a header). */
  router.post('/hub/events/ticket', asPerson, async (ctx) => {
    const { claims, user } = ctx.state.caller as PersonCaller;
    if (!claims) throw new AppError('invalid_input', 'The portal\'s own pages open /hub/events with their cookie; a ticket is for an access token.');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await issueLiveTicket(db, { userId: user.id, clientId: claims.client_id, grantRef: claims.grantRef ?? null, scope: claims.scope, tokenExp: claims.exp });
  });

  /** A device app's own token: hand-offs move between the person's devices, not the portal's cookie. */
  const handoffCaller = (ctx: Context): HandoffCaller => {
    const { claims, user } = ctx.state.caller as PersonCaller;
    if (!claims) throw new AppError('forbidden', 'Hand-offs are made and opened by a device app, with its access token.');
    return { userId: user.id, clientId: claims.client_id, grantRef: claims.grantRef ?? null };
  };

  router.post('/hub/handoff', asPerson, jsonBody, async (ctx) => {
    const offered = await offerHandoff(db, handoffCaller(ctx), ctx.request.body, requestOrigin(ctx));
    ctx.status = 201;
    ctx.set('Location', `/hub/handoff/${offered.id}`);
    ctx.body = offered;
  });

  router.get('/hub/handoff', asPerson, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { handoffs: await openHandoffs(db, person(ctx).id) };
  });

  router.post('/hub/handoff/:id/take', asPerson, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await takeHandoff(db, handoffCaller(ctx), ctx.params.id!, requestOrigin(ctx));
  });

  /** A device app's own token: a push subscription belongs to the device the token's grant registered. */
  const deviceCaller = (ctx: Context) => {
    const { claims, user } = ctx.state.caller as PersonCaller;
    if (!claims) throw new AppError('forbidden', 'Push subscriptions are made by a device app, with its access token; the portal has its own page.');
    return { userId: user.id, grantRef: claims.grantRef ?? null };
  };

  router.get('/hub/push/vapid-public-key', asPerson, (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { public_key: deps.events.push.publicKey(), senders: [...deps.events.push.senders] };
  });

  router.get('/hub/push/subscriptions', asPerson, async (ctx) => {
    const { deviceId, subscriptions } = await deviceSubscriptions(db, person(ctx).id, deviceCaller(ctx).grantRef);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { device_id: deviceId, subscriptions };
  });

  router.post('/hub/push/subscriptions', asPerson, jsonBody, async (ctx) => {
    const { subscription, created } = await subscribeDevice(db, deviceCaller(ctx), ctx.request.body, deps.events.push.senders, requestOrigin(ctx));
    ctx.status = created ? 201 : 200;
    if (created) ctx.set('Location', `/hub/push/subscriptions/${subscription.id}`);
    ctx.body = subscription;
  });

  router.delete('/hub/push/subscriptions/:id', asPerson, async (ctx) => {
    const caller = deviceCaller(ctx);
    const { deviceId } = await deviceSubscriptions(db, caller.userId, caller.grantRef);
    if (!deviceId) throw new AppError('not_found', 'No such push subscription of this device.');
    await unsubscribe(db, caller.userId, ctx.params.id!, { deviceOf: deviceId }, requestOrigin(ctx));
    ctx.status = 204;
  });

  router.get('/hub/activity', asPerson, async (ctx) => {
    const { before, limit, service } = ctx.query;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await listActivity(db, person(ctx).id, {
      ...(typeof before === 'string' ? { before } : {}),
      ...(typeof limit === 'string' ? { limit } : {}),
      ...(typeof service === 'string' ? { service } : {}),
    });
  });

  router.post('/api/v1/events', serviceApi(deps, 'events'), eventsRateLimit(deps), jsonBody, async (ctx) => {
    const { service } = ctx.state.caller as ServiceCaller;
    const { id } = await postServiceEvent(db, service, ctx.request.body);
    ctx.status = 202;
    ctx.body = { id };
  });

  /** A service sets tiers only at itself: the path names the service so another one is a plain 403. */
  const tierSetter = serviceApi(deps, 'entitlements');
  const ownService = (ctx: Context) => {
    const caller = ctx.state.caller as ServiceCaller;
    if (ctx.params.service !== caller.service.slug) throw forbidden(`This client belongs to ${caller.service.slug}: it may set or end tiers only at ${caller.service.slug}.`);
    return { service: caller.service, actor: serviceActor(caller.service.slug, caller.clientId, requestOrigin(ctx).ip) };
  };

  router.put('/api/v1/services/:service/entitlements/:sub', tierSetter, jsonBody, async (ctx) => {
    const { service, actor } = ownService(ctx);
    const result = await setTierAtService(db, service, ctx.params.sub!, ctx.request.body, actor);
    ctx.body = { sub: ctx.params.sub, service: result.service, tier: result.tier, expires_at: result.expires_at, change: result.change };
  });

  router.delete('/api/v1/services/:service/entitlements/:sub', tierSetter, async (ctx) => {
    const { service, actor } = ownService(ctx);
    await endTierAtService(db, service, ctx.params.sub!, actor);
    ctx.status = 204;
  });

  return router;
}
