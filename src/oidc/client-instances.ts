import type Provider from 'oidc-provider';

type ClientClass = Provider['Client'];
type Client = NonNullable<Awaited<ReturnType<ClientClass['find']>>>;

/**
 * node-oidc-provider finds a client that is not static by serialising its metadata and hashing it
 * (to reuse the Client it built from the same metadata) on every call: a JSON.stringify and a
 * SHA-256 on every token, userinfo and introspection request. `metadataOf` hands back the same
 * object for as long as the hub's cache holds the client, so the Client built from that object is
 * kept with it; a client that changed comes back as a new object, and goes through the provider's
 * own find (and its checks) again.
 */
export function keepClientsByMetadata(provider: Provider, metadataOf: (id: string) => Promise<object | undefined>): void {
  const { Client } = provider;
  const find = Client.find.bind(Client);
  const built = new WeakMap<object, Client>();
  Client.find = async (id: string) => {
    const metadata = typeof id === 'string' && id.length > 0 ? await metadataOf(id) : undefined;
    const kept = metadata && built.get(metadata);
    if (kept) return kept;
    const client = await find(id);
    if (metadata && client) built.set(metadata, client);
    return client;
  };
}
