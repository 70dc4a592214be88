import { createClient, type Client } from 'graphql-http';
import type { Hub } from '../../src/app/start.ts';

/** What /graphql answered, as the wire carried it. */
export interface GraphqlAnswer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string; fields?: Record<string, string> } }> };
}

/** A POST to /graphql, with the headers given (a token, a cookie, a CSRF token). */
export async function graphqlPost(hub: Hub, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GraphqlAnswer> {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphqlAnswer['body'] };
}

/** graphql-http's own client, signed in with an access token. */
export function graphqlClient(hub: Hub, token: string): Client {
  return createClient({ url: `${hub.url}/graphql`, headers: { authorization: `Bearer ${token}` }, shouldRetry: () => Promise.resolve(false) });
}

/** What JSON.parse gives: the tests read answers as they come. */
export type Json = ReturnType<typeof JSON.parse>;

/** One operation through the client: its data, or the first error's code and message thrown. */
export function run<T = Json>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }> {
  return new Promise((resolve, reject) => {
    let result: { data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } = {};
    client.subscribe<T>({ query, variables }, {
      next: (value) => (result = value as typeof result),
      error: reject,
      complete: () => resolve(result),
    });
  });
}
