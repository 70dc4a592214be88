import { checkpointDir } from '../audit/checkpoints.ts';
import { verifyAuditChain, type ChainReport } from '../audit/verify.ts';
import { checkChoice, stringValue, UsageError, type Command } from './command.ts';
import { routerOf } from '../db/regions.ts';

/** The chain is broken: exit 1 with one line naming the first bad entry. */
export class AuditChainBroken extends Error {
  override name = 'AuditChainBroken';
}

/** What vouched for the chain, and what was seen but not this chain's, in words. */
function signedBy(report: ChainReport, dir: string): string {
  const lines: string[] = [];
  if (!report.signedTo) lines.push(`No signed checkpoints yet for this chain (in the database, or in ${dir}).`);
  else {
    lines.push(`${report.signedTo} of them covered by signed checkpoints: ${report.storedCheckpoints} in the database, ${report.checkpointFiles} file(s) in ${dir}.`);
    for (const { writer, signedTo } of report.writers) lines.push(`  signed by ${writer}: up to entry ${signedTo}`);
  }
  for (const restore of report.restores) {
    const replaced = restore.replacedLastSeq === null ? '' : `, replacing a chain that reached entry ${restore.replacedLastSeq}`;
    const aside = restore.setAside ? ` (kept in ${restore.setAside})` : '';
    lines.push(`Restored from a backup made ${restore.backupCreatedAt ?? 'at an unknown time'}: entry ${restore.seq}, ${restore.occurredAt}${replaced}${aside}.`);
  }
  for (const other of report.otherChains) {
    lines.push(`Not checked: ${other.files} checkpoint file(s) in ${dir}/${other.chain}, written for another chain (another database).`);
  }
  return lines.join('\n');
}

/** Entries about deleted people verify like any other; their personal fields read "(erased)". */
function erasedLine(report: ChainReport): string {
  return report.erasedEntries ? `\n${report.erasedEntries} of them about deleted people, verified with their personal fields (erased): sealed under a key the deletion destroyed.` : '';
}

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'Check the audit log: every entry present, unchanged, chained, and matching the signed checkpoints.',
  usage: 'audit verify [--region eu|us|in] [--json]',
  options: { region: { type: 'string' } },
  optionHelp: [{ flag: '--region R', text: 'With data residency: the chain of region R\'s database (default: the chain of DATABASE_URL\'s).' }],
  notes: [
    'Exits 0 when the chain is intact, 1 naming the first bad entry when one was changed, deleted, or the chain was re-forged.',
    'A restore from a backup (uniqverse restore) is listed, from its backup.restored entry: the chain was taken back to the backup there.',
    "Checkpoints name the chain they vouch for (an id kept in the database). They are read from the database (every hub instance writes its own there) and from $DATA_DIR/audit-checkpoints/<chain>, and checked with a key derived from UNIQVERSE_SECRET: run this with the hub's secret. Checkpoint files of other chains (other databases) in the same DATA_DIR are listed, not checked.",
  ],
  examples: ['uniqverse audit verify', 'uniqverse audit verify --json', 'uniqverse audit verify --region in'],
  async run(ctx, values) {
    checkChoice(values, 'region', ['eu', 'us', 'in']);
    const region = stringValue(values, 'region') ?? null;
    const router = routerOf(ctx.db);
    if (region && !router?.regions.has(region)) throw new UsageError(`--region ${region}: this hub has no database for that region (DATABASE_URL_${region.toUpperCase()} is unset)`);
    const db = region ? router!.regionDb(region) : (router?.directory ?? ctx.db);
    const report = await verifyAuditChain(db, { dataDir: ctx.config.dataDir, secret: ctx.config.secret });
    if (!report.ok && report.problem) {
      throw new AuditChainBroken(`audit chain broken at entry ${report.problem.seq}: ${report.problem.reason}`);
    }
    const dir = checkpointDir(ctx.config.dataDir);
    return {
      json: {
        ok: true,
        ...(region ? { region } : {}),
        chain: report.chain,
        entries: report.entries,
        erased_entries: report.erasedEntries,
        last_seq: report.lastSeq,
        signed_to: report.signedTo,
        checkpoint_files: report.checkpointFiles,
        stored_checkpoints: report.storedCheckpoints,
        writers: report.writers.map((w) => ({ writer: w.writer, signed_to: w.signedTo })),
        other_chains: report.otherChains,
        restores: report.restores.map((r) => ({ seq: r.seq, occurred_at: r.occurredAt, backup_created_at: r.backupCreatedAt, replaced_last_seq: r.replacedLastSeq, set_aside: r.setAside })),
      },
      text: `Audit chain intact: ${report.entries} entries (chain ${report.chain ?? 'without an id yet'}).${erasedLine(report)}\n${signedBy(report, dir)}`,
    };
  },
};
