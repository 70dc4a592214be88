import { Gauge, type Registry } from 'prom-client';
import type { Knex } from 'knex';
import type { CheckpointWriter } from '../audit/checkpoints.ts';
import type { PasswordHasher } from '../identity/password-hashing.ts';
import type { ProviderHolder } from '../oidc/provider-holder.ts';

export interface InstanceMetricsSources {
  db: Knex;
  hasher: PasswordHasher;
  holder: ProviderHolder;
  auditCheckpoints: CheckpointWriter;
}

/** The part of tarn's pool (knex's, also on PGlite, with one connection) that is read here. */
interface Pool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/**
 * Gauges that read the state of this instance's parts when Prometheus scrapes, from memory (no
 * query): the password hasher's load, the database pool, the signing keys' age, and how far the
 * audit checkpoints lag behind the audit log. Under `--workers` the primary sums each series over
 * the processes (src/app/hub-processes.ts); the ages and times are the same fact seen by each, so
 * they take the largest instead.
 */
export function registerInstanceMetrics(registry: Registry, { db, hasher, holder, auditCheckpoints }: InstanceMetricsSources): void {
  const registers = [registry];
  new Gauge({
    name: 'uniqverse_password_hashes_running',
    help: 'Password hashes (argon2id) running now on this instance (at most one per core).',
    registers,
    collect() {
      this.set(hasher.runningHashes);
    },
  });
  new Gauge({
    name: 'uniqverse_password_hash_queue_depth',
    help: 'Password hashes waiting for a free slot (past its bound, sign-ins get 503).',
    registers,
    collect() {
      this.set(hasher.queuedHashes);
    },
  });
  new Gauge({
    name: 'uniqverse_db_pool_connections',
    help: 'Database pool on this instance: connections in use (used), idle (free), and requests waiting for one (pending).',
    labelNames: ['state'],
    registers,
    collect() {
      const pool = (db.client as { pool?: Pool }).pool;
      if (!pool) return;
      this.set({ state: 'used' }, pool.numUsed());
      this.set({ state: 'free' }, pool.numFree());
      this.set({ state: 'pending' }, pool.numPendingAcquires());
    },
  });
  new Gauge({
    name: 'uniqverse_signing_key_age_seconds',
    aggregator: 'max',
    help: 'Seconds since the key that signs now (per alg) became active: rotation overdue when large.',
    labelNames: ['alg'],
    registers,
    collect() {
      const now = Date.now();
      for (const signer of holder.signers) this.set({ alg: signer.alg }, seconds(now - signer.activatedAt.getTime()));
    },
  });
  new Gauge({
    name: 'uniqverse_audit_unsigned_seconds',
    aggregator: 'max',
    help: 'How long audit entries have waited for this instance to sign them into a checkpoint (0: all signed).',
    registers,
    collect() {
      const { unsignedSince } = auditCheckpoints.status();
      this.set(unsignedSince === null ? 0 : seconds(Date.now() - unsignedSince));
    },
  });
  new Gauge({
    name: 'uniqverse_audit_checkpoint_last_written_timestamp_seconds',
    aggregator: 'max',
    help: 'When this instance last wrote an audit checkpoint (Unix time; 0: not since it started).',
    registers,
    collect() {
      const { lastWrittenAt } = auditCheckpoints.status();
      this.set(lastWrittenAt === null ? 0 : lastWrittenAt / 1000);
    },
  });
}
