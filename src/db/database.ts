import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { DatabaseTarget } from '../platform/config.ts';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.ts';
import { endConnectionOnReadTimeout } from './hung-connections.ts';

export type Db = Knex;

interface QueryResult {
  method?: string;
}

/**
 * knex-pglite names a delete's command after knex's method, 'DEL', which knex's Postgres client
 * does not know: a delete without `returning` then gave the whole driver result where Postgres
 * gives the row count (so `removed === 0` was never true on the embedded database).
 */
class EmbeddedClient extends (ClientPgLite as unknown as new (config: Knex.Config) => { processResponse(obj: QueryResult, runner: unknown): unknown }) {
  override processResponse(obj: QueryResult, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}

// int8 (bigserial ids, counts) as numbers on both drivers; our ids stay far below 2^53.
pg.types.setTypeParser(20, (value: string) => Number(value));

export interface Database {
  db: Db;
  target: DatabaseTarget;
  close(): Promise<void>;
}

/** `lockHeld`: the caller already holds the embedded database's directory lock (restore, which swaps the directory). */
export async function openDatabase(target: DatabaseTarget, { lockHeld = false }: { lockHeld?: boolean } = {}): Promise<Database> {
  if (target.kind === 'postgres') {
    // A server that stops answering (stalled disk, frozen VM, lost network) must not hold requests
    // for ever: connecting and each query give up after queryTimeoutMs (the request answers 503).
    const timeout = target.queryTimeoutMs ?? 30_000;
    const db = knexFactory({
      client: 'pg',
      connection: timeout ? { connectionString: target.url, connectionTimeoutMillis: timeout, query_timeout: timeout } : target.url,
      pool: { min: 0, max: target.poolMax ?? 10, ...(timeout ? { afterCreate: endConnectionOnReadTimeout } : {}) },
      acquireConnectionTimeout: 10_000,
    });
    return { db, target, close: () => db.destroy() };
  }

  let lock: DirectoryLock | null = null;
  if (target.dir) {
    mkdirSync(target.dir, { recursive: true });
    if (!lockHeld) lock = acquireDirectoryLock(target.dir);
  }
  // A dumped data directory (a backup being restored) is unpacked into `dir`, or into memory without one.
  const loadDataDir = target.loadDataDir;
  const pglite = loadDataDir ? (target.dir ? new PGlite(target.dir, { loadDataDir }) : new PGlite({ loadDataDir })) : null;
  const db = knexFactory({
    client: EmbeddedClient as unknown as typeof knexFactory.Client,
    dialect: 'postgres',
    connection: pglite ? () => ({ pglite }) : target.dir ? { filename: target.dir } : {},
    // PGlite has one connection, and starting it can take tens of seconds on a loaded machine;
    // past two minutes a wait means a query issued outside its own transaction (a deadlock).
    acquireConnectionTimeout: 120_000,
  } as Knex.Config);
  return {
    db,
    target,
    async close() {
      await db.destroy();
      // knex-pglite closes PGlite only through a pooled connection: one never used is still starting.
      const instance = (db.client as unknown as { pglite?: PGlite }).pglite;
      if (instance && !instance.closed) {
        await instance.waitReady;
        if (!instance.closed) await instance.close();
      }
      lock?.release();
    },
  };
}

/** A consistent snapshot of an embedded database, as a gzipped tarball of its data directory (PGlite's own dump). */
export async function dumpEmbedded(db: Db): Promise<Buffer> {
  await db.raw('checkpoint');
  const pglite = (db.client as unknown as { pglite?: PGlite }).pglite;
  if (!pglite) throw new Error('not an embedded database');
  return Buffer.from(await (await pglite.dumpDataDir('gzip')).arrayBuffer());
}
