import test from 'ava';
import WebSocket from 'ws';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import type { Hub } from '../../src/app/start.ts';
import { grant, makePerson, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';
import { api, eventsSettled, eventually, personToken, serviceToken } from '../events/helpers.ts';

interface Message {
  kind: string;
  streamId: string | null;
  event: { type: string; data: { tier?: string } } | null;
}

const subscription = 'subscription($since: String) { events(since: $since) { kind streamId event { type data } } }';

async function setup(t: Parameters<typeof startTestHub>[0]) {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  await makeService(hub, 'vezepyweb', { firstParty: true });
  const ada = await makePerson(hub, { name: 'Ada' });
  const bob = await makePerson(hub, { name: 'Bob' });
  const token = await personToken(hub, ada, 'vezepyweb');
  await eventsSettled(hub);
  return { hub, ada, bob, token };
}

/** Collects a subscription's messages (and its errors) until it is stopped. */
function collect(iterator: AsyncIterableIterator<{ data?: unknown; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }>) {
  const messages: Message[] = [];
  const errors: Array<{ message: string; extensions?: Record<string, unknown> }> = [];
  const done = (async () => {
    try {
      for await (const result of iterator) {
        if (result.errors) errors.push(...result.errors);
        const message = (result.data as { events?: Message } | null | undefined)?.events;
        if (message) messages.push(message);
      }
    } catch (error) {
      // graphql-ws ends an operation refused before it runs with its errors (an array).
      if (Array.isArray(error)) errors.push(...(error as typeof errors));
      else throw error;
    }
  })();
  return { messages, errors, events: () => messages.filter((m) => m.kind === 'event'), stop: async () => void (await iterator.return?.(), await done.catch(() => undefined)), done };
}

type Opener = (hub: Hub, token: string, since: string | null) => ReturnType<typeof collect>;

const overSse: Opener = (hub, token, since) => {
  const client = createSseClient({ url: `${hub.url}/graphql`, headers: token ? { authorization: `Bearer ${token}` } : {}, retryAttempts: 0 });
  return collect(client.iterate({ query: subscription, variables: { since } }));
};

const overWs: Opener = (hub, token, since) => {
  const client = createWsClient({ url: `${hub.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: token ? { authorization: `Bearer ${token}` } : {}, retryAttempts: 0, lazy: true });
  const collected = collect(client.iterate({ query: subscription, variables: { since } }));
  return { ...collected, stop: async () => void (await collected.stop(), await client.dispose()) };
};

for (const [name, open] of [['GraphQL over SSE', overSse], ['graphql-ws', overWs]] as const) {
  test(`${name}: events(since) gets the person's events live, replays what was missed, and never another person's`, async (t) => {
    const { hub, ada, bob, token } = await setup(t);
    const first = open(hub, token, null);
    t.teardown(() => first.stop());
    await eventually(() => first.messages.some((m) => m.kind === 'ready'), 10_000, 'ready');
    await grant(hub, bob.email, 'vezepygame', 'bob-1');
    await grant(hub, ada.email, 'vezepygame', 'ada-1');
    await eventually(() => first.events().length >= 1, 10_000, 'the live event');
    await eventsSettled(hub);
    t.deepEqual(first.events().map((m) => m.event!.data.tier), ['ada-1']);
    const resumeFrom = first.events().at(-1)!.streamId!;
    t.truthy(resumeFrom);
    await first.stop();

    // Missed while away: Ada's, and Bob's, which Ada must never see.
    await grant(hub, ada.email, 'vezepygame', 'ada-2');
    await grant(hub, bob.email, 'vezepygame', 'bob-2');
    await grant(hub, ada.email, 'vezepygame', 'ada-3');
    await eventsSettled(hub);
    const second = open(hub, token, resumeFrom);
    t.teardown(() => second.stop());
    await eventually(() => second.messages.some((m) => m.kind === 'ready'), 10_000, 'ready after the replay');
    t.deepEqual(second.events().map((m) => m.event!.data.tier), ['ada-2', 'ada-3']);
    await grant(hub, bob.email, 'vezepygame', 'bob-3');
    await grant(hub, ada.email, 'vezepygame', 'ada-4');
    await eventually(() => second.events().length === 3, 10_000, 'live again');
    await eventsSettled(hub);
    t.deepEqual(second.events().map((m) => m.event!.data.tier), ['ada-2', 'ada-3', 'ada-4']);
    t.deepEqual(second.errors, []);
  });

  test(`${name}: removing the device whose token subscribed ends the subscription with a revoked message`, async (t) => {
    const { hub, ada, token } = await setup(t);
    const device = await api(hub, '/hub/devices', token, { method: 'POST', body: JSON.stringify({ kind: 'phone', os: 'iOS 18', app_version: '1.0' }) });
    const stream = open(hub, token, null);
    t.teardown(() => stream.stop());
    await eventually(() => stream.messages.some((m) => m.kind === 'ready'), 10_000, 'ready');
    const other = await personToken(hub, ada, 'vezepyweb');
    t.is((await api(hub, `/hub/devices/${device.body.id}`, other, { method: 'DELETE' })).status, 204);
    await stream.done.catch((error: unknown) => t.log('ended with', error, JSON.stringify(error)));
    t.is(stream.messages.at(-1)?.kind, 'revoked');
  });

  test(`${name}: no token, a bad since, and a service's token are GraphQL errors with codes`, async (t) => {
    const { hub, token } = await setup(t);
    const anonymous = open(hub, '', null);
    await anonymous.done.catch(() => undefined);
    t.is(anonymous.errors[0]?.extensions?.code, 'UNAUTHENTICATED');
    const bad = open(hub, token, 'not-a-stream-id');
    await bad.done.catch(() => undefined);
    t.is(bad.errors[0]?.extensions?.code, 'BAD_USER_INPUT');
    t.deepEqual(bad.messages, []);
    const machine = open(hub, await serviceToken(hub, 'vezepygame'), null);
    await machine.done.catch(() => undefined);
    t.is(machine.errors[0]?.extensions?.code, 'FORBIDDEN');
  });
}
