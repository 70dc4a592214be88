import type { Knex } from 'knex';
import { entryHash, genesisHash } from './audit-log.ts';
import { auditQueries } from './audit-queries.ts';
import { checkpointDir, checkpointKey, loadCheckpoints } from './checkpoints.ts';

export interface ChainProblem {
  /** The first entry that is wrong (or missing). */
  seq: number;
  reason: string;
}

export interface ChainReport {
  ok: boolean;
  entries: number;
  lastSeq: number;
  checkpointFiles: number;
  /** Highest seq a signed checkpoint vouches for. */
  signedTo: number;
  problem: ChainProblem | null;
}

/**
 * Walks the whole chain from the first entry: every seq present, every prev_hash the hash
 * before it, every hash recomputed from its content, and every hash a signed checkpoint names
 * matching. Stops at the first bad entry.
 */
export async function verifyAuditChain(db: Knex, options: { dataDir: string; secret: string; pageSize?: number }): Promise<ChainReport> {
  const checkpoints = loadCheckpoints(checkpointDir(options.dataDir), checkpointKey(options.secret));
  const report: ChainReport = { ok: true, entries: 0, lastSeq: 0, checkpointFiles: checkpoints.files, signedTo: checkpoints.highest, problem: null };
  const fail = (seq: number, reason: string) => {
    report.ok = false;
    report.problem = { seq, reason };
    return report;
  };
  const badFile = checkpoints.bad[0];
  if (badFile) return fail(badFile.from ?? 0, `checkpoint file ${badFile.file}: ${badFile.reason}`);

  const pageSize = options.pageSize ?? 1000;
  let prev = genesisHash;
  let expectSeq = 1;
  for (;;) {
    const rows = await auditQueries.page(db, expectSeq - 1, pageSize);
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectSeq) return fail(expectSeq, seq > expectSeq ? `entry ${expectSeq} is missing: deleted from the chain` : `entry ${seq} is out of order`);
      if (row.prev_hash !== prev) return fail(seq, `entry ${seq} does not point at the entry before it (prev_hash differs): an entry before it was changed or removed`);
      if (entryHash(prev, row) !== row.hash) return fail(seq, `entry ${seq} was changed: its hash does not match its content`);
      const signed = checkpoints.expected.get(seq);
      if (signed !== undefined && signed !== row.hash) return fail(seq, `entry ${seq} differs from the signed checkpoint: the chain was re-forged from this entry`);
      prev = row.hash;
      report.entries++;
      report.lastSeq = seq;
      expectSeq++;
    }
    if (rows.length < pageSize) break;
  }
  if (checkpoints.highest > report.lastSeq) {
    return fail(report.lastSeq + 1, `entries ${report.lastSeq + 1} to ${checkpoints.highest} are missing: a signed checkpoint vouches for them, so they were deleted`);
  }
  return report;
}
