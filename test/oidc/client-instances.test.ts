import test from 'ava';
import { clientQueries } from '../../src/queries/clients.ts';
import { makeClient, makeService } from '../helpers/fixtures.ts';
import { startTestHub } from '../helpers/hub.ts';

// The provider builds a Client from its metadata once and keeps it with the cached metadata
// (src/oidc/client-instances.ts): a change must still reach the provider, and an unknown or
// suspended client must still be unknown.
test('the provider keeps one Client while a client is unchanged, builds a new one when it changes, and finds no client that is gone', async (t) => {
  const hub = await startTestHub(t);
  await makeService(hub, 'vezepygame');
  const { client_id: clientId } = await makeClient(hub, { service: 'vezepygame' });
  const { Client } = hub.holder.current;

  const first = await Client.find(clientId);
  t.truthy(first);
  t.is(await Client.find(clientId), first);

  const row = (await clientQueries.rowById(hub.db, clientId))!;
  await clientQueries.setMetadata(hub.db, clientId, { ...row.metadata, redirect_uris: ['https://chess.veze.test/callback'] });
  hub.holder.caches.clients.delete(clientId);
  const changed = await Client.find(clientId);
  t.not(changed, first);
  t.deepEqual(changed!.redirectUris, ['https://chess.veze.test/callback']);
  t.is(await Client.find(clientId), changed);

  t.is(await Client.find('nobody-web-x'), undefined);
  t.is(await Client.find(''), undefined);
  t.is(await Client.find('bad\u0000id'), undefined);
});
