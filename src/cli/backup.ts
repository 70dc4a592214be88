import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../platform/config.ts';
import type { BackupManifest, BackupPart } from '../platform/backup-archive.ts';
import { flag, requiredString, UsageError, type CommandOutput, type StandaloneCommand } from './command.ts';

/** Something about the backup or the place it goes that stops the command: exit 1 with one line. */
export class BackupError extends Error {
  override name = 'BackupError';
}

const databasePart = 'pglite.tar.gz';
const checkpointsPrefix = 'audit-checkpoints/';

const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

/** Every file under `root`, as paths relative to it (a file being written, `*.tmp-<pid>`, is not one yet). */
function filesUnder(root: string, relative = ''): string[] {
  if (!existsSync(path.join(root, relative))) return [];
  return readdirSync(path.join(root, relative), { withFileTypes: true }).flatMap((entry) => {
    const name = path.join(relative, entry.name);
    if (entry.isDirectory()) return filesUnder(root, name);
    return entry.isFile() && !entry.name.includes('.tmp-') ? [name] : [];
  });
}

/** With DATABASE_URL the server is backed up with its own tools; the hub's checkpoint files beside it. */
function serverCommands(kind: 'backup' | 'restore', file: string): CommandOutput {
  const quoted = `'${file.replace(/'/g, `'\\''`)}'`;
  const commands =
    kind === 'backup'
      ? [`pg_dump --format=custom --no-owner --file=${quoted} "$DATABASE_URL"`, `tar -czf ${quoted}.checkpoints.tgz -C "$DATA_DIR" audit-checkpoints`]
      : [
          `pg_restore --clean --if-exists --no-owner --single-transaction --dbname="$DATABASE_URL" ${quoted}`,
          'mv "$DATA_DIR/audit-checkpoints" "$DATA_DIR/audit-checkpoints.before-restore-$(date +%Y%m%dT%H%M%S)"   # on every instance',
          `tar -xzf ${quoted}.checkpoints.tgz -C "$DATA_DIR"`,
          'uniqverse audit verify',
        ];
  return {
    json: { database: 'postgres', written: false, commands },
    text: [
      `DATABASE_URL is set: the ${kind} of a PostgreSQL server is done with its own tools (docs/runbook.md, "Backups"). Nothing was ${kind === 'backup' ? 'written' : 'restored'}. Run, with the hub's environment:`,
      ...commands.map((command) => `  ${command}`),
    ].join('\n'),
  };
}

export const backupCommand: StandaloneCommand = {
  name: 'backup',
  summary: 'Back up the embedded database and the audit checkpoint files into one file (the hub must be stopped).',
  usage: 'backup <file> [--force] [--json]',
  positionals: ['file'],
  options: { force: { type: 'boolean' } },
  optionHelp: [{ flag: '--force', text: 'Replace <file> if it exists.' }],
  notes: [
    'The file holds a consistent snapshot of $DATA_DIR/pglite, the signed audit checkpoints of $DATA_DIR/audit-checkpoints, and a manifest (format version, when, the hub version and latest migration, the audit chain position, a SHA-256 of each part). Not the master secret: keep UNIQVERSE_SECRET in your secret store; a restore needs it. Not the development mailbox.',
    'The embedded database takes one process: stop the hub first. With DATABASE_URL set, this prints the pg_dump command to use instead (docs/runbook.md).',
  ],
  examples: ['uniqverse backup /backups/uniqverse-2026-12-06.uqbackup', 'uniqverse backup ./hub.uqbackup --force --json'],
  async standalone(config, values) {
    const file = path.resolve(requiredString(values, 'file'));
    if (config.database.kind === 'postgres') return serverCommands('backup', file);
    if (existsSync(file) && !flag(values, 'force')) throw new UsageError(`${file} exists: pass --force to replace it`);
    const dir = (config.database as { dir: string }).dir;
    if (isEmptyDir(dir)) throw new BackupError(`there is no embedded database in ${dir} to back up`);
    const { openDatabase, dumpEmbedded } = await import('../db/database.ts');
    const { latestAppliedMigration } = await import('../db/migrate.ts');
    const { chainPosition } = await import('../audit/verify.ts');
    const { checkpointDir } = await import('../audit/checkpoints.ts');
    const { writeBackupFile } = await import('../platform/backup-archive.ts');
    const { projectRoot } = await import('../platform/views.ts');
    // Takes the directory lock: refused, with the message every command gives, while the hub runs.
    const database = await openDatabase(config.database);
    try {
      const latestMigration = await latestAppliedMigration(database.db);
      const audit = await chainPosition(database.db, { dataDir: config.dataDir, secret: config.secret });
      const snapshot = await dumpEmbedded(database.db);
      const checkpoints: BackupPart[] = filesUnder(checkpointDir(config.dataDir)).map((name) => ({
        name: `${checkpointsPrefix}${name.split(path.sep).join('/')}`,
        bytes: readFileSync(path.join(checkpointDir(config.dataDir), name)),
      }));
      const hubVersion = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
      const about = {
        hub_version: hubVersion,
        database: 'pglite',
        latest_migration: latestMigration,
        audit: { chain: audit.chain, last_seq: audit.lastSeq, last_hash: audit.lastHash, signed_to: audit.signedTo },
        contains: { database: databasePart, checkpoint_files: checkpoints.length },
      };
      const manifest = writeBackupFile(file, about, [{ name: databasePart, bytes: snapshot }, ...checkpoints]);
      const bytes = manifest.parts.reduce((sum, part) => sum + part.bytes, 0);
      return {
        json: { file, created_at: manifest.created_at, ...about, bytes },
        text: `Backed up the embedded database (at migration ${latestMigration ?? 'none'}, audit chain to entry ${audit.lastSeq}) and ${checkpoints.length} audit checkpoint file(s) to ${file}. Keep UNIQVERSE_SECRET with it: a restore needs it.`,
      };
    } finally {
      await database.close();
    }
  },
};

/** A part's path under the checkpoint folder, refused when it would land outside it. */
function checkpointPath(root: string, part: BackupPart): string {
  const relative = part.name.slice(checkpointsPrefix.length);
  const target = path.resolve(root, relative);
  if (!relative || path.isAbsolute(relative) || !target.startsWith(`${path.resolve(root)}${path.sep}`)) throw new BackupError(`the backup names a file outside the checkpoint folder (${part.name}): not restoring it`);
  return target;
}

/** Renames in order; when one fails, the ones done are undone, so the data stays as it was. */
function swap(moves: Array<[from: string, to: string]>): void {
  const done: Array<[string, string]> = [];
  try {
    for (const [from, to] of moves) {
      if (!existsSync(from)) continue;
      renameSync(from, to);
      done.push([from, to]);
    }
  } catch (error) {
    for (const [from, to] of done.reverse()) renameSync(to, from);
    throw error;
  }
}

interface Restored {
  aside: string | null;
  entry: number;
  replaced: { chain: string | null; lastSeq: number; signedTo: number } | null;
}

async function restoreEmbedded(config: Config, file: string, manifest: BackupManifest, parts: BackupPart[], force: boolean): Promise<Restored> {
  const { acquireDirectoryLock } = await import('../db/directory-lock.ts');
  const { openDatabase } = await import('../db/database.ts');
  const { migrateToLatest } = await import('../db/migrate.ts');
  const { chainPosition } = await import('../audit/verify.ts');
  const { checkpointDir } = await import('../audit/checkpoints.ts');
  const { appendAudit } = await import('../audit/audit-log.ts');
  const { cliActor, entryBy } = await import('../audit/actors.ts');
  const { loadKeySet } = await import('../oidc/signing-keys.ts');
  const { createSecrets } = await import('../platform/crypto/hub-secrets.ts');

  const snapshot = parts.find((part) => part.name === databasePart);
  if (!snapshot) throw new BackupError(`${file} holds no embedded database (${databasePart})`);
  const dir = (config.database as { dir: string }).dir;
  const liveCheckpoints = checkpointDir(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true });
  const lock = acquireDirectoryLock(dir);
  // Everything is built beside the live data, in a folder shaped like DATA_DIR, and swapped in at the end.
  const staging = path.join(config.dataDir, `.restoring-${process.pid}`);
  try {
    const replacing = !isEmptyDir(dir);
    if (replacing && !force) throw new BackupError(`${dir} already holds a database: pass --force to replace it (it is kept in ${path.join(config.dataDir, 'before-restore-<time>')})`);
    let replaced: Restored['replaced'] = null;
    if (replacing) {
      const current = await openDatabase(config.database, { lockHeld: true });
      try {
        replaced = await chainPosition(current.db, { dataDir: config.dataDir, secret: config.secret });
      } finally {
        await current.close();
      }
    }
    const aside = path.join(config.dataDir, `before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    rmSync(staging, { recursive: true, force: true });
    const stagedCheckpoints = checkpointDir(staging);
    mkdirSync(stagedCheckpoints, { recursive: true, mode: 0o700 });
    for (const part of parts.filter((p) => p.name.startsWith(checkpointsPrefix))) {
      const target = checkpointPath(stagedCheckpoints, part);
      mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, part.bytes, { mode: 0o600 });
    }

    const staged = await openDatabase({ kind: 'pglite', dir: path.join(staging, 'pglite'), loadDataDir: new Blob([new Uint8Array(snapshot.bytes)]) }, { lockHeld: true });
    let entry: number;
    try {
      try {
        await loadKeySet(staged.db, createSecrets(config.secret).keys);
      } catch (error) {
        // loadKeySet words it for the hub (a ConfigError); a restore has its own advice.
        if (!(error instanceof ConfigError) && !/unable to authenticate data|not a sealed secret/.test((error as Error).message)) throw error;
        throw new BackupError(
          'UNIQVERSE_SECRET does not open the signing keys in this backup: restore it with the secret the hub had when the backup was made (nothing was changed)',
        );
      }
      await migrateToLatest(staged.db);
      const { sealAuditWith } = await import('../audit/personal-seal.ts');
      sealAuditWith(staged.db, config.secret);
      const about = manifest.about as { audit?: { chain?: string | null; last_seq?: number } };
      // The restore is itself an entry of the restored chain: what it replaced, and where that was put, stays on record.
      const row = await staged.db.transaction((trx) =>
        appendAudit(
          trx,
          entryBy(cliActor(), {
            action: 'backup.restored',
            data: {
              backup_file: path.basename(file),
              backup_created_at: manifest.created_at,
              backup_last_seq: about.audit?.last_seq ?? null,
              replaced: replaced ? { chain: replaced.chain, last_seq: replaced.lastSeq, signed_to: replaced.signedTo } : null,
              set_aside: replacing ? path.basename(aside) : null,
            },
          }),
        ),
      );
      entry = Number(row.seq);
    } finally {
      await staged.close();
    }

    mkdirSync(aside, { recursive: true, mode: 0o700 });
    if (!replacing) rmSync(dir, { recursive: true, force: true });
    swap([
      [dir, path.join(aside, 'pglite')],
      [path.join(staging, 'pglite'), dir],
      [liveCheckpoints, path.join(aside, 'audit-checkpoints')],
      [stagedCheckpoints, liveCheckpoints],
    ]);
    rmSync(staging, { recursive: true, force: true });
    if (isEmptyDir(aside)) rmdirSync(aside);
    return { aside: existsSync(aside) ? aside : null, entry, replaced };
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    lock.release();
  }
}

export const restoreCommand: StandaloneCommand = {
  name: 'restore',
  summary: 'Restore the embedded database and the audit checkpoints from a backup file (the hub must be stopped).',
  usage: 'restore <file> [--force] [--json]',
  positionals: ['file'],
  options: { force: { type: 'boolean' } },
  optionHelp: [{ flag: '--force', text: 'Replace the database in $DATA_DIR/pglite (it is kept in $DATA_DIR/before-restore-<time>).' }],
  notes: [
    'The file is checked first (its format, and the checksum of every part): a damaged or foreign file is refused and nothing changes. So is a backup made by a newer version, and one whose signing keys UNIQVERSE_SECRET cannot open: restore with the secret the hub had when the backup was made.',
    'The database and the checkpoint files are unpacked beside the live ones and swapped in at the end; the ones replaced are kept in $DATA_DIR/before-restore-<time>. The restore is recorded as a backup.restored audit entry naming what it replaced. With DATABASE_URL set, this prints the pg_restore commands to use instead (docs/runbook.md).',
  ],
  examples: ['uniqverse restore /backups/uniqverse-2026-12-06.uqbackup', 'uniqverse restore ./hub.uqbackup --force'],
  async standalone(config, values) {
    const file = path.resolve(requiredString(values, 'file'));
    if (config.database.kind === 'postgres') return serverCommands('restore', file);
    const { readBackupFile, BackupFileError } = await import('../platform/backup-archive.ts');
    const { isShippedMigration } = await import('../db/migrate.ts');
    let read: ReturnType<typeof readBackupFile>;
    try {
      read = readBackupFile(file);
    } catch (error) {
      if (error instanceof BackupFileError) throw new BackupError(error.message);
      throw error;
    }
    const { manifest, parts } = read;
    const about = manifest.about as { hub_version?: string; latest_migration?: string | null; audit?: { last_seq?: number } };
    if (about.latest_migration && !isShippedMigration(about.latest_migration)) {
      throw new BackupError(`${file} was made by a newer version of UniQVerse (${about.hub_version ?? 'unknown'}, migration ${about.latest_migration}): restore it with that version`);
    }
    const restored = await restoreEmbedded(config, file, manifest, parts, flag(values, 'force'));
    const discarded = restored.replaced && about.audit?.last_seq !== undefined ? Math.max(0, restored.replaced.lastSeq - about.audit.last_seq) : 0;
    return {
      json: {
        file,
        created_at: manifest.created_at,
        hub_version: about.hub_version ?? null,
        audit_entry: restored.entry,
        set_aside: restored.aside,
        replaced: restored.replaced && { chain: restored.replaced.chain, last_seq: restored.replaced.lastSeq, signed_to: restored.replaced.signedTo },
      },
      text: [
        `Restored ${file} (made ${manifest.created_at} by UniQVerse ${about.hub_version ?? 'unknown'}); recorded as audit entry ${restored.entry} (backup.restored).`,
        restored.aside ? `What it replaced (the database${discarded ? `, with ${discarded} audit entries newer than the backup` : ''}, and the checkpoint files) is kept in ${restored.aside}.` : '',
        'Start the hub, then run "uniqverse audit verify".',
      ]
        .filter(Boolean)
        .join('\n'),
    };
  },
};
