import type Provider from 'oidc-provider';
import type { Knex } from 'knex';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import { createProvider, createProviderCaches, type ProviderCaches, type ProviderDeps } from './provider.ts';
import { loadKeySet, signingKeyProblem, type KeySet } from './signing-keys.ts';

/**
 * node-oidc-provider reads its key set once, at construction. Keys live in the database and
 * rotate while we run, so this holds the current provider and builds a new one whenever the
 * key set in the database changes (a new key published, a pending key activating, an old one
 * expiring). Requests in flight finish on the provider they started with; all state is in the
 * database, so nothing is lost by the swap.
 */
export class ProviderHolder {
  current: Provider;
  /** The keys signing now, as of the last load of the key set. */
  signers: KeySet['signers'];
  private fingerprint: string;
  /** Why the last reload failed (null: it worked). */
  private reloadFailure: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly caches: ProviderCaches;
  private readonly listeners: Array<(provider: Provider) => void> = [];

  private readonly deps: ProviderDeps & { keyBox: SecretBox };

  private constructor(deps: ProviderDeps & { keyBox: SecretBox }, provider: Provider, keys: KeySet, caches: ProviderCaches) {
    this.deps = deps;
    this.current = provider;
    this.fingerprint = keys.fingerprint;
    this.signers = keys.signers;
    this.caches = caches;
  }

  static async create(deps: ProviderDeps & { keyBox: SecretBox }): Promise<ProviderHolder> {
    const keys = await loadKeySet(deps.db, deps.keyBox);
    const caches = createProviderCaches();
    const holder = new ProviderHolder(deps, createProvider(deps, caches, keys.jwks), keys, caches);
    holder.schedule(keys.nextChangeAt);
    return holder;
  }

  onSwap(listener: (provider: Provider) => void): void {
    this.listeners.push(listener);
  }

  /** Reloads the key set; returns true when the provider was rebuilt. */
  async refresh(): Promise<boolean> {
    let keys: KeySet;
    try {
      keys = await loadKeySet(this.deps.db as Knex, this.deps.keyBox);
      this.reloadFailure = null;
    } catch (error) {
      this.reloadFailure = (error as Error).message;
      // Poll again: a failed reload (the database away for a moment) must not stop the reloads for good.
      this.schedule(null);
      throw error;
    }
    this.schedule(keys.nextChangeAt);
    this.signers = keys.signers;
    if (keys.fingerprint === this.fingerprint) return false;
    this.current = createProvider(this.deps, this.caches, keys.jwks);
    this.fingerprint = keys.fingerprint;
    this.deps.logger.info({ keys: keys.fingerprint }, 'signing keys changed; provider rebuilt');
    for (const listener of this.listeners) listener(this.current);
    return true;
  }

  /** For /readyz: why the provider cannot sign every kind of token now (null: it can). Reads no database. */
  signingProblem(now = new Date()): string | null {
    const problem = signingKeyProblem(this, now);
    if (this.reloadFailure) return `signing keys could not be reloaded (${this.reloadFailure})${problem ? `; ${problem}` : ''}`;
    return problem;
  }

  /** Polls every KEY_REFRESH_SECONDS, and wakes exactly when a pending key is due to activate. */
  private schedule(nextChangeAt: Date | null): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.stopped) return;
    const poll = this.deps.config.keyRefreshSeconds * 1000;
    const untilChange = nextChangeAt ? Math.max(0, nextChangeAt.getTime() - Date.now()) + 50 : Infinity;
    this.timer = setTimeout(() => {
      this.refresh().catch((error) => this.deps.logger.error({ err: error }, 'signing key refresh failed'));
    }, Math.min(poll, untilChange));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
