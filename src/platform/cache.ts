/** A small TTL cache for things read on every request (clients, services). Misses are not cached. */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }

  async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = await load();
    if (value === undefined) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

const absent = Symbol('absent');

/**
 * A cache of database rows that other writers can change: it holds entries only while someone
 * tells it about every change (`live`, set by the database's change notices), drops an entry when
 * told, and never stores a value read (or written) before a drop of its key that it may have
 * missed: each drop is numbered, and a value is kept only if no key of it was dropped after the
 * number taken when its read began (`mark`). `ttlMs` bounds an entry's life even so. A miss is
 * remembered for `missTtlMs` (0: not at all): only for rows whose key nobody can know before the
 * row is written (random ids), since inserts send no notice.
 */
export class CoherentCache<V> {
  private readonly entries = new Map<string, { value: V | typeof absent; expires: number }>();
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly maxEntries: number;
  /** The number of the last drop; per key, the number of its last drop (the oldest forgotten first). */
  private generation = 0;
  private readonly droppedAt = new Map<string, number>();
  /** Reads marked before this (they began before a clear, or before a drop since forgotten) are refused whatever their keys. */
  private refusedBefore = 0;
  private live = false;

  constructor(ttlMs: number, options: { missTtlMs?: number; maxEntries?: number } = {}) {
    this.ttlMs = ttlMs;
    this.missTtlMs = options.missTtlMs ?? 0;
    this.maxEntries = options.maxEntries ?? 20_000;
  }

  /** Whether changes are being heard; going either way empties the cache. */
  setLive(live: boolean): void {
    this.live = live;
    this.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private lookup(key: string): { value: V | typeof absent } | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expires > Date.now()) return hit;
    this.entries.delete(key);
    return undefined;
  }

  peek(key: string): V | undefined {
    const hit = this.lookup(key);
    return hit && hit.value !== absent ? hit.value : undefined;
  }

  /** The cached value, or `load()`'s, kept under each of `keys(value)` (`expiresAt`: ms, not later than the TTL). */
  async through(key: string, load: () => Promise<V | undefined>, keys: (value: V) => string[] = () => [key], expiresAt?: (value: V) => number | null): Promise<V | undefined> {
    const hit = this.lookup(key);
    if (hit) return hit.value === absent ? undefined : hit.value;
    const mark = this.mark();
    const value = await load();
    if (value === undefined) {
      if (this.missTtlMs) this.store([key], absent, mark, Date.now() + this.missTtlMs);
      return value;
    }
    this.put(keys(value), value, mark, expiresAt?.(value));
    return value;
  }

  /** A mark to pass to `put`, taken before the read or write whose result is to be kept. */
  mark(): number {
    return this.generation;
  }

  /** Stores a value this process itself just wrote (write-through), unless one of its keys was dropped since `mark`. */
  put(keys: string[], value: V, mark: number, expiresAt: number | null = null): void {
    this.store(keys, value, mark, Math.min(Date.now() + this.ttlMs, expiresAt ?? Infinity));
  }

  private store(keys: string[], value: V | typeof absent, mark: number, expires: number): void {
    if (!this.live || mark < this.refusedBefore || keys.some((key) => (this.droppedAt.get(key) ?? 0) > mark)) return;
    while (this.entries.size + keys.length > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    for (const key of keys) this.entries.set(key, { value, expires });
  }

  drop(...keys: string[]): void {
    const generation = ++this.generation;
    for (const key of keys) {
      this.entries.delete(key);
      this.droppedAt.delete(key);
      this.droppedAt.set(key, generation);
    }
    // Forgetting the oldest drops refuses every read that began before them instead.
    while (this.droppedAt.size > this.maxEntries) {
      const [oldest, at] = this.droppedAt.entries().next().value!;
      this.droppedAt.delete(oldest);
      this.refusedBefore = Math.max(this.refusedBefore, at);
    }
  }

  /** Drops every key that starts with `prefix` (a walk over the cache: for rare changes), and refuses reads in flight. */
  dropPrefix(prefix: string): void {
    this.refusedBefore = ++this.generation;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.refusedBefore = ++this.generation;
    this.entries.clear();
    this.droppedAt.clear();
  }
}
