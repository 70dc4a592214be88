import type { Knex } from 'knex';
import { entryHash, genesisHash } from './audit-log.ts';
import { auditQueries } from '../queries/audit-log.ts';
import { checkpointDir, checkpointKey, loadCheckpoints } from './checkpoints.ts';
import { countErasedRows } from './personal-seal.ts';

export interface ChainProblem {
  /** The first entry that is wrong (or missing). */
  seq: number;
  reason: string;
}

export interface ChainReport {
  ok: boolean;
  /** This database's chain id (null: no checkpoint was ever written for it). */
  chain: string | null;
  entries: number;
  /** Entries with personal fields sealed under a destroyed key (about a deleted person): "(erased)", and still verified. */
  erasedEntries: number;
  lastSeq: number;
  /** Signed checkpoint files for this chain in DATA_DIR (and version 1 files). */
  checkpointFiles: number;
  /** Signed checkpoints kept in the database (every instance's). */
  storedCheckpoints: number;
  /** Highest seq a signed checkpoint vouches for. */
  signedTo: number;
  /** Each instance that signed this chain, and how far, as seen in the database and in DATA_DIR. */
  writers: Array<{ writer: string; signedTo: number }>;
  /** Checkpoint folders in DATA_DIR for other chains (other databases): not this chain's, so not checked. */
  otherChains: Array<{ chain: string; files: number }>;
  problem: ChainProblem | null;
  /** Restores from a backup recorded in the chain (backup.restored), newest first: the chain was taken back to a backup there. */
  restores: Array<{ seq: number; occurredAt: string; backupCreatedAt: string | null; replacedLastSeq: number | null; setAside: string | null }>;
}

/**
 * Walks the whole chain from the first entry: every seq present, every prev_hash the hash
 * before it, every hash recomputed from its content, and every hash a signed checkpoint of this
 * chain names (in DATA_DIR or in the database) matching. Stops at the first bad entry.
 */
export async function verifyAuditChain(db: Knex, options: { dataDir: string; secret: string; pageSize?: number }): Promise<ChainReport> {
  const chain = await auditQueries.chainId(db);
  const stored = chain ? await auditQueries.storedCheckpoints(db, chain) : [];
  const checkpoints = loadCheckpoints(checkpointDir(options.dataDir), checkpointKey(options.secret), chain, stored);
  const report: ChainReport = {
    ok: true,
    chain,
    entries: 0,
    erasedEntries: 0,
    lastSeq: 0,
    checkpointFiles: checkpoints.files,
    storedCheckpoints: checkpoints.stored,
    signedTo: checkpoints.highest,
    writers: [...checkpoints.writers].map(([writer, signedTo]) => ({ writer, signedTo })),
    otherChains: checkpoints.otherChains.map(({ chain: other, files }) => ({ chain: other, files })),
    problem: null,
    restores: (await auditQueries.byAction(db, 'backup.restored')).map((row) => {
      const data = (row.data ?? {}) as { backup_created_at?: string; replaced?: { last_seq?: number } | null; set_aside?: string | null };
      return {
        seq: Number(row.seq),
        occurredAt: new Date(row.occurred_at).toISOString(),
        backupCreatedAt: data.backup_created_at ?? null,
        replacedLastSeq: data.replaced?.last_seq ?? null,
        setAside: data.set_aside ?? null,
      };
    }),
  };
  const fail = (seq: number, reason: string) => {
    report.ok = false;
    report.problem = { seq, reason };
    return report;
  };
  const badFile = checkpoints.bad[0];
  if (badFile) return fail(badFile.from ?? 0, `checkpoint ${badFile.file}: ${badFile.reason}`);
  const conflict = checkpoints.conflicts[0];
  if (conflict) {
    return fail(conflict.seq, `two signed checkpoints disagree about entry ${conflict.seq}: ${conflict.first.source} and ${conflict.second.source} (a copy of this database that went on with the same chain, or a re-forged chain signed by a hub)`);
  }

  const pageSize = options.pageSize ?? 1000;
  let prev = genesisHash;
  let expectSeq = 1;
  const sharedWith = new Set<string>();
  for (;;) {
    const rows = await auditQueries.page(db, expectSeq - 1, pageSize);
    report.erasedEntries += await countErasedRows(db, rows);
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectSeq) return fail(expectSeq, seq > expectSeq ? `entry ${expectSeq} is missing: deleted from the chain` : `entry ${seq} is out of order`);
      if (row.prev_hash !== prev) return fail(seq, `entry ${seq} does not point at the entry before it (prev_hash differs): an entry before it was changed or removed`);
      if (entryHash(prev, row) !== row.hash) return fail(seq, `entry ${seq} was changed: its hash does not match its content`);
      // Another chain's checkpoint that once agreed with this chain is this chain under another id:
      // the id in the database was changed, and what differs after the agreement was re-forged.
      for (const other of checkpoints.otherChains) {
        const theirs = other.hashes.get(seq);
        if (theirs === row.hash) sharedWith.add(other.chain);
        else if (theirs !== undefined && sharedWith.has(other.chain)) {
          return fail(seq, `entry ${seq} differs from a signed checkpoint filed under chain ${other.chain}, which agrees with this chain's earlier entries: the chain's id was changed and the chain re-forged from this entry`);
        }
      }
      const signed = checkpoints.expected.get(seq);
      if (signed !== undefined && signed.hash !== row.hash) {
        const legacy = signed.source.includes('before checkpoints named their chain') ? '; if that file belongs to another database, move it out of the checkpoint folder' : '';
        return fail(seq, `entry ${seq} differs from the signed checkpoint (${signed.source}): the chain was re-forged from this entry${legacy}`);
      }
      prev = row.hash;
      report.entries++;
      report.lastSeq = seq;
      expectSeq++;
    }
    if (rows.length < pageSize) break;
  }
  if (checkpoints.highest > report.lastSeq) {
    return fail(report.lastSeq + 1, `entries ${report.lastSeq + 1} to ${checkpoints.highest} are missing: a signed checkpoint of this chain vouches for them, so they were deleted (or the database was restored from a backup older than them)`);
  }
  return report;
}

/** Where the chain stands: its id, its last entry, and how far the signed checkpoints (files and rows) reach. */
export async function chainPosition(db: Knex, options: { dataDir: string; secret: string }): Promise<{ chain: string | null; lastSeq: number; lastHash: string | null; signedTo: number }> {
  const chain = await auditQueries.chainId(db);
  const last = await auditQueries.last(db);
  const stored = chain ? await auditQueries.storedCheckpoints(db, chain) : [];
  const signedTo = loadCheckpoints(checkpointDir(options.dataDir), checkpointKey(options.secret), chain, stored).highest;
  return { chain, lastSeq: Number(last?.seq ?? 0), lastHash: last?.hash ?? null, signedTo };
}
