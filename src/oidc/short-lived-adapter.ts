import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { ShortLivedStore } from '../platform/short-lived-store.ts';

/**
 * Models kept in the short-lived store, not the database: a sign-in's interaction, written and
 * read on each of its pages and gone minutes later. Nothing else refers to it (no grant, no
 * account row, no look-up but by its id), and losing it only restarts a sign-in.
 */
export const shortLivedModels = new Set(['Interaction']);

/** What Postgres would refuse, refused here as well, so a bad parameter is a 400 at /auth as before rather than a failure a page later. */
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function holdsRefusedCharacter(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || unpairedSurrogate.test(value);
  if (Array.isArray(value)) return value.some(holdsRefusedCharacter);
  if (value && typeof value === 'object') return Object.entries(value).some(([key, inner]) => holdsRefusedCharacter(key) || holdsRefusedCharacter(inner));
  return false;
}

export class ShortLivedModelAdapter implements Adapter {
  private readonly model: string;
  private readonly store: ShortLivedStore;

  constructor(store: ShortLivedStore, model: string) {
    this.store = store;
    this.model = model;
  }

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    if (holdsRefusedCharacter(payload)) throw new errors.InvalidRequest('parameters must not contain U+0000 or unpaired surrogates');
    await this.store.set(this.key(id), JSON.stringify(payload), expiresIn || 3600);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const stored = await this.store.get(this.key(id));
    return stored === undefined ? undefined : (JSON.parse(stored) as AdapterPayload);
  }

  async destroy(id: string): Promise<void> {
    await this.store.delete(this.key(id));
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  // The provider never consumes an interaction nor revokes one by grant; these keep the Adapter whole.
  async consume(id: string): Promise<void> {
    const payload = await this.find(id);
    if (payload) await this.store.set(this.key(id), JSON.stringify({ ...payload, consumed: Math.floor(Date.now() / 1000) }), Math.max(1, (payload.exp ?? 0) - Math.floor(Date.now() / 1000)));
  }

  async revokeByGrantId(): Promise<void> {}
}
