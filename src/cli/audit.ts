import { checkpointDir } from '../audit/checkpoints.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import type { Command } from './command.ts';

/** The chain is broken: exit 1 with one line naming the first bad entry. */
export class AuditChainBroken extends Error {
  override name = 'AuditChainBroken';
}

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'Check the audit log: every entry present, unchanged, chained, and matching the signed checkpoints.',
  usage: 'audit verify [--json]',
  options: {},
  optionHelp: [],
  notes: [
    'Exits 0 when the chain is intact, 1 naming the first bad entry when one was changed, deleted, or the chain was re-forged.',
    'Checkpoints are read from $DATA_DIR/audit-checkpoints and checked with a key derived from UNIQVERSE_SECRET: run this with the same DATA_DIR and secret as the hub.',
  ],
  examples: ['uniqverse audit verify', 'uniqverse audit verify --json'],
  async run(ctx) {
    const report = await verifyAuditChain(ctx.db, { dataDir: ctx.config.dataDir, secret: ctx.config.secret });
    if (!report.ok && report.problem) {
      throw new AuditChainBroken(`audit chain broken at entry ${report.problem.seq}: ${report.problem.reason}`);
    }
    const signed = report.checkpointFiles
      ? `; ${report.signedTo} of them covered by ${report.checkpointFiles} signed checkpoint file(s) in ${checkpointDir(ctx.config.dataDir)}`
      : `; no signed checkpoints yet in ${checkpointDir(ctx.config.dataDir)}`;
    return {
      json: { ok: true, entries: report.entries, last_seq: report.lastSeq, signed_to: report.signedTo, checkpoint_files: report.checkpointFiles },
      text: `Audit chain intact: ${report.entries} entries${signed}.`,
    };
  },
};
