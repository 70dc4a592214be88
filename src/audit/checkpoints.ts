import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { deriveKey } from '../crypto/secret-box.ts';
import type { Logger } from '../observability/logger.ts';
import { canonicalJson } from './canonical-json.ts';
import { entryHash, genesisHash } from './audit-log.ts';
import { auditQueries } from './audit-queries.ts';

/**
 * A signed statement "entries from..to had these hashes", kept outside the database (a file
 * under DATA_DIR/audit-checkpoints). Someone who can rewrite the table and recompute every hash
 * still cannot make the chain match a checkpoint without the master secret.
 */
export interface Checkpoint {
  version: 1;
  from: number;
  to: number;
  /** hashes[i] is the hash of entry from + i. */
  hashes: string[];
  written_at: string;
  mac: string;
}

const maxPerFile = 1000;

export const checkpointDir = (dataDir: string) => path.join(dataDir, 'audit-checkpoints');
export const checkpointKey = (secret: string) => deriveKey(secret, 'audit-checkpoints');

function macOf(key: Buffer, body: Omit<Checkpoint, 'mac'>): string {
  return createHmac('sha256', key).update(canonicalJson(body)).digest('hex');
}

const fileName = (to: number) => `${String(to).padStart(12, '0')}.json`;

export interface LoadedCheckpoints {
  /** seq → the hash a signed checkpoint says it had. */
  expected: Map<number, string>;
  files: number;
  highest: number;
  /** Files that cannot be read or whose signature is wrong. */
  bad: Array<{ file: string; from: number | null; reason: string }>;
}

export function loadCheckpoints(dir: string, key: Buffer): LoadedCheckpoints {
  const loaded: LoadedCheckpoints = { expected: new Map(), files: 0, highest: 0, bad: [] };
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((name) => /^\d{12}\.json$/.test(name)).sort();
  } catch {
    return loaded;
  }
  for (const name of names) {
    let checkpoint: Checkpoint;
    try {
      checkpoint = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Checkpoint;
    } catch (error) {
      loaded.bad.push({ file: name, from: null, reason: `unreadable (${(error as Error).message})` });
      continue;
    }
    const { mac, ...body } = checkpoint;
    const good = typeof mac === 'string' && mac.length === 64 && timingSafeEqual(Buffer.from(mac), Buffer.from(macOf(key, body)));
    const shaped = Number.isInteger(body.from) && Number.isInteger(body.to) && Array.isArray(body.hashes) && body.hashes.length === body.to - body.from + 1;
    if (!good || !shaped) {
      loaded.bad.push({ file: name, from: Number.isInteger(body.from) ? body.from : null, reason: 'its signature does not match (not written by a hub with this secret, or edited)' });
      continue;
    }
    body.hashes.forEach((hash, index) => loaded.expected.set(body.from + index, hash));
    loaded.files++;
    loaded.highest = Math.max(loaded.highest, body.to);
  }
  return loaded;
}

function writeCheckpoint(dir: string, key: Buffer, from: number, hashes: string[]): void {
  const body: Omit<Checkpoint, 'mac'> = { version: 1, from, to: from + hashes.length - 1, hashes, written_at: new Date().toISOString() };
  const file = path.join(dir, fileName(body.to));
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify({ ...body, mac: macOf(key, body) })}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export interface CheckpointWriterOptions {
  db: Knex;
  dataDir: string;
  secret: string;
  logger: Logger;
  /** Write once this many entries are unsigned. */
  every?: number;
  /** How often to look, and the longest an entry stays unsigned while the hub runs. */
  intervalMs?: number;
  maxAgeMs?: number;
}

export interface CheckpointWriter {
  /** Signs every entry not yet in a checkpoint; returns the highest seq now signed. */
  flush(): Promise<number>;
  /** Final flush, at shutdown. */
  stop(): Promise<void>;
}

/**
 * Signs the chain as it grows: every `every` entries, after `maxAgeMs` for fewer, and at
 * shutdown. It signs only what verifies against the last checkpoint, so a chain already
 * tampered with is never blessed.
 */
export function startCheckpointWriter(options: CheckpointWriterOptions): CheckpointWriter {
  const { db, logger } = options;
  const every = options.every ?? 100;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const dir = checkpointDir(options.dataDir);
  const key = checkpointKey(options.secret);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const loaded = loadCheckpoints(dir, key);
  let signedTo = loaded.highest;
  let signedHash = loaded.expected.get(signedTo) ?? genesisHash;
  let lastWrite = Date.now();
  let running: Promise<number> = Promise.resolve(signedTo);

  async function signPending(): Promise<number> {
    for (;;) {
      const rows = await auditQueries.page(db, signedTo, maxPerFile);
      if (rows.length === 0) return signedTo;
      let prev = signedHash;
      let expectSeq = signedTo + 1;
      for (const row of rows) {
        if (Number(row.seq) !== expectSeq || row.prev_hash !== prev || entryHash(prev, row) !== row.hash) {
          logger.error({ seq: expectSeq }, 'audit chain does not verify: not signing it; run `uniqverse audit verify`');
          return signedTo;
        }
        prev = row.hash;
        expectSeq++;
      }
      writeCheckpoint(dir, key, signedTo + 1, rows.map((row) => row.hash));
      signedTo += rows.length;
      signedHash = prev;
      lastWrite = Date.now();
    }
  }

  const flush = () => (running = running.then(signPending, signPending));

  const timer = setInterval(() => {
    auditQueries
      .last(db)
      .then((last) => {
        const pending = (last?.seq ?? 0) - signedTo;
        if (pending >= every || (pending > 0 && Date.now() - lastWrite >= maxAgeMs)) return flush();
        return undefined;
      })
      .catch((error) => logger.warn({ err: error }, 'audit checkpoint failed'));
  }, options.intervalMs ?? 5_000);
  timer.unref();

  return {
    flush,
    async stop() {
      clearInterval(timer);
      await flush().catch((error) => logger.warn({ err: error }, 'final audit checkpoint failed'));
    },
  };
}
