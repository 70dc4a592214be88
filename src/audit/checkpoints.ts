import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { deriveKey } from '../platform/crypto/secret-box.ts';
import type { Logger } from '../platform/logger.ts';
import { canonicalJson } from './canonical-json.ts';
import { entryHash, genesisHash } from './audit-log.ts';
import { auditQueries } from '../queries/audit-log.ts';

/**
 * A signed statement "entries from..to of chain C had these hashes". Each hub writes it twice: as a
 * file under DATA_DIR/audit-checkpoints/<chain>/ (outside the database) and as a row of
 * audit_checkpoints (so verify sees every instance's, whatever DATA_DIR it runs with). Someone who
 * can rewrite the table and recompute every hash still cannot make the chain match a checkpoint
 * without the master secret. Version 1 files (at the top of the directory) were written before
 * checkpoints named their chain; they are still checked, against whatever database verify reads.
 */
export interface Checkpoint {
  version: 1 | 2;
  /** The chain it vouches for (audit_chain.id); version 2. */
  chain?: string;
  /** The instance that wrote it: host and DATA_DIR; version 2. */
  writer?: string;
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
/** How an instance names itself in the checkpoints it writes. */
export const writerName = (dataDir: string) => `${hostname()}:${path.resolve(dataDir)}`;

function macOf(key: Buffer, body: Omit<Checkpoint, 'mac'>): string {
  return createHmac('sha256', key).update(canonicalJson(body)).digest('hex');
}

const fileName = (to: number) => `${String(to).padStart(12, '0')}.json`;
const isFileName = (name: string) => /^\d{12}\.json$/.test(name);
const isChainId = (name: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name);

/** The chain's id, made on first use (a database copied before it gets its own). */
export async function ensureChainId(db: Knex): Promise<string> {
  return (await auditQueries.chainId(db)) ?? (await auditQueries.createChainId(db, randomUUID()));
}

export interface SignedHash {
  hash: string;
  /** Where the statement came from, for messages: a file name or "the database (writer …)". */
  source: string;
}

export interface LoadedCheckpoints {
  /** seq → what the first signed checkpoint read says its hash was. */
  expected: Map<number, SignedHash>;
  /** Good files for this chain (and version 1 files), in DATA_DIR. */
  files: number;
  /** Good rows of audit_checkpoints for this chain. */
  stored: number;
  highest: number;
  /** Per writer (instance), how far its checkpoints reach, from the files and the database. */
  writers: Map<string, number>;
  /** Checkpoints that cannot be read, whose signature is wrong, or that name another chain where they should not. */
  bad: Array<{ file: string; from: number | null; reason: string }>;
  /** Two good checkpoints that disagree about one entry. */
  conflicts: Array<{ seq: number; first: SignedHash; second: SignedHash }>;
  /**
   * Folders of checkpoint files for other chains found in DATA_DIR (other databases'), with what
   * their well-signed files say: verify checks they share no history with this chain.
   */
  otherChains: Array<{ chain: string; files: number; hashes: Map<number, string> }>;
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter(isFileName).sort();
  } catch {
    return [];
  }
}

function signatureProblem(checkpoint: Partial<Checkpoint>, key: Buffer, chain: string | null): string | null {
  const { mac, ...body } = checkpoint;
  const good = typeof mac === 'string' && mac.length === 64 && timingSafeEqual(Buffer.from(mac), Buffer.from(macOf(key, body as Omit<Checkpoint, 'mac'>)));
  const shaped = Number.isInteger(body.from) && Number.isInteger(body.to) && Array.isArray(body.hashes) && body.hashes.length === body.to! - body.from! + 1;
  if (!good || !shaped) return 'its signature does not match (not written by a hub with this secret, or edited)';
  if (body.version === 2 && body.chain !== chain) return `it vouches for another chain (${String(body.chain)})`;
  if (body.version !== 1 && body.version !== 2) return `unknown version ${String(body.version)}`;
  return null;
}

/**
 * Reads every checkpoint that speaks of this database's chain: the files of `chain` and the
 * version 1 files in `dir`, and `stored` (this chain's rows of audit_checkpoints).
 */
export function loadCheckpoints(dir: string, key: Buffer, chain: string | null, stored: Array<{ writer: string; checkpoint: unknown }> = []): LoadedCheckpoints {
  const loaded: LoadedCheckpoints = { expected: new Map(), files: 0, stored: 0, highest: 0, writers: new Map(), bad: [], conflicts: [], otherChains: [] };
  const take = (checkpoint: Checkpoint, source: string, writer: string) => {
    checkpoint.hashes.forEach((hash, index) => {
      const seq = checkpoint.from + index;
      const known = loaded.expected.get(seq);
      if (!known) loaded.expected.set(seq, { hash, source });
      else if (known.hash !== hash) loaded.conflicts.push({ seq, first: known, second: { hash, source } });
    });
    loaded.highest = Math.max(loaded.highest, checkpoint.to);
    loaded.writers.set(writer, Math.max(loaded.writers.get(writer) ?? 0, checkpoint.to));
  };
  const readFile = (folder: string, name: string, label: string): void => {
    let checkpoint: Checkpoint;
    try {
      checkpoint = JSON.parse(readFileSync(path.join(folder, name), 'utf8')) as Checkpoint;
    } catch (error) {
      loaded.bad.push({ file: label, from: null, reason: `unreadable (${(error as Error).message})` });
      return;
    }
    const problem = signatureProblem(checkpoint, key, chain);
    if (problem) {
      loaded.bad.push({ file: label, from: Number.isInteger(checkpoint?.from) ? checkpoint.from : null, reason: problem });
      return;
    }
    loaded.files++;
    take(checkpoint, checkpoint.version === 1 ? `file ${label} (written before checkpoints named their chain)` : `file ${label} (${checkpoint.writer})`, checkpoint.writer ?? 'this DATA_DIR, before checkpoints named their chain');
  };

  for (const name of listFiles(dir)) readFile(dir, name, name);
  let folders: string[] = [];
  try {
    folders = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && isChainId(entry.name)).map((entry) => entry.name);
  } catch {
    folders = [];
  }
  for (const folder of folders.sort()) {
    if (folder === chain) for (const name of listFiles(path.join(dir, folder))) readFile(path.join(dir, folder), name, `${folder}/${name}`);
    else loaded.otherChains.push(otherChain(path.join(dir, folder), folder, key));
  }
  for (const row of stored) {
    const checkpoint = row.checkpoint as Checkpoint;
    const problem = signatureProblem(checkpoint, key, chain) ?? (checkpoint.version !== 2 || checkpoint.writer !== row.writer ? 'its row does not match what was signed' : null);
    const label = `audit_checkpoints row up to ${String(checkpoint?.to)} (${row.writer})`;
    if (problem) {
      loaded.bad.push({ file: label, from: Number.isInteger(checkpoint?.from) ? checkpoint.from : null, reason: problem });
      continue;
    }
    loaded.stored++;
    take(checkpoint, `the database's checkpoint by ${row.writer}`, row.writer);
  }
  return loaded;
}

/** Another chain's folder: only what is signed with our key counts; the rest is not ours to judge. */
function otherChain(folder: string, chain: string, key: Buffer): { chain: string; files: number; hashes: Map<number, string> } {
  const names = listFiles(folder);
  const hashes = new Map<number, string>();
  for (const name of names) {
    try {
      const checkpoint = JSON.parse(readFileSync(path.join(folder, name), 'utf8')) as Checkpoint;
      if (signatureProblem(checkpoint, key, chain)) continue;
      checkpoint.hashes.forEach((hash, index) => hashes.set(checkpoint.from + index, hash));
    } catch {
      continue;
    }
  }
  return { chain, files: names.length, hashes };
}

function writeCheckpointFile(dir: string, checkpoint: Checkpoint): void {
  const file = path.join(dir, fileName(checkpoint.to));
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 });
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
  /**
   * For the metrics (epoch ms): when this instance last wrote a checkpoint, and since when entries
   * have been waiting to be signed (null: none are; seen every `intervalMs`).
   */
  status(): { lastWrittenAt: number | null; unsignedSince: number | null };
}

interface WriterState {
  chain: string;
  dir: string;
  signedTo: number;
  signedHash: string;
  /** What every checkpoint known at start says: a hash that contradicts one is never signed. */
  expected: Map<number, SignedHash>;
}

/**
 * Signs the chain as it grows: every `every` entries, after `maxAgeMs` for fewer, and at
 * shutdown. Each instance signs the whole chain into its own DATA_DIR and into the database. It
 * signs only what continues its own last checkpoint and agrees with every other checkpoint it
 * knows, so a chain already tampered with is never blessed.
 */
export function startCheckpointWriter(options: CheckpointWriterOptions): CheckpointWriter {
  const { db, logger } = options;
  const every = options.every ?? 100;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const key = checkpointKey(options.secret);
  const writer = writerName(options.dataDir);
  let state: WriterState | null = null;
  let lastWrite = Date.now();
  let lastWritten: number | null = null;
  let unsignedSince: number | null = null;

  async function prepare(): Promise<WriterState> {
    if (state) return state;
    const chain = await ensureChainId(db);
    const dir = path.join(checkpointDir(options.dataDir), chain);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const loaded = loadCheckpoints(checkpointDir(options.dataDir), key, chain, await auditQueries.storedCheckpoints(db, chain));
    const signedTo = loaded.writers.get(writer) ?? 0;
    state = { chain, dir, signedTo, signedHash: loaded.expected.get(signedTo)?.hash ?? genesisHash, expected: loaded.expected };
    return state;
  }

  async function signPending(): Promise<number> {
    const s = await prepare();
    for (;;) {
      const rows = await auditQueries.page(db, s.signedTo, maxPerFile);
      if (rows.length === 0) {
        unsignedSince = null;
        return s.signedTo;
      }
      let prev = s.signedHash;
      let expectSeq = s.signedTo + 1;
      for (const row of rows) {
        const known = s.expected.get(expectSeq);
        if (Number(row.seq) !== expectSeq || row.prev_hash !== prev || entryHash(prev, row) !== row.hash || (known && known.hash !== row.hash)) {
          logger.error({ seq: expectSeq }, 'audit chain does not verify: not signing it; run `uniqverse audit verify`');
          return s.signedTo;
        }
        prev = row.hash;
        expectSeq++;
      }
      const body: Omit<Checkpoint, 'mac'> = { version: 2, chain: s.chain, writer, from: s.signedTo + 1, to: s.signedTo + rows.length, hashes: rows.map((row) => row.hash), written_at: new Date().toISOString() };
      const checkpoint: Checkpoint = { ...body, mac: macOf(key, body) };
      writeCheckpointFile(s.dir, checkpoint);
      await auditQueries.storeCheckpoint(db, { chain_id: s.chain, from_seq: body.from, to_seq: body.to, writer, checkpoint: { ...checkpoint } });
      s.signedTo = body.to;
      s.signedHash = prev;
      lastWrite = Date.now();
      lastWritten = lastWrite;
    }
  }

  let running: Promise<number> = Promise.resolve(0);
  const flush = () => (running = running.then(signPending, signPending));

  const timer = setInterval(() => {
    auditQueries
      .last(db)
      .then((last) => {
        const pending = (last?.seq ?? 0) - (state?.signedTo ?? 0);
        if (pending > 0) unsignedSince ??= Date.now();
        if (pending >= every || (pending > 0 && Date.now() - lastWrite >= maxAgeMs)) return flush();
        return undefined;
      })
      .catch((error) => logger.warn({ err: error }, 'audit checkpoint failed'));
  }, options.intervalMs ?? 5_000);
  timer.unref();

  return {
    flush,
    status: () => ({ lastWrittenAt: lastWritten, unsignedSince }),
    async stop() {
      clearInterval(timer);
      await flush().catch((error) => logger.warn({ err: error }, 'final audit checkpoint failed'));
    },
  };
}
