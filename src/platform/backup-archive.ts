import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * One backup, one file: a first line naming the format, a line of JSON (the manifest), then the
 * parts' bytes one after another. The manifest lists each part with its size and SHA-256, and
 * carries a SHA-256 of itself, so a damaged or cut file is refused before anything is restored.
 */
const magic = 'UNIQVERSE-BACKUP';
export const backupFormatVersion = 1;

export interface BackupPart {
  name: string;
  bytes: Buffer;
}

export interface BackupManifest {
  format: 'uniqverse-backup';
  version: number;
  created_at: string;
  /** Facts about what was backed up (hub version, latest migration, audit chain…), for restore and for people. */
  about: Record<string, unknown>;
  parts: Array<{ name: string; bytes: number; sha256: string }>;
  /** SHA-256 of the manifest's JSON without this field. */
  sha256: string;
}

export class BackupFileError extends Error {
  override name = 'BackupFileError';
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Writes beside `file` and renames, so a crash never leaves half a backup under its name. */
export function writeBackupFile(file: string, about: Record<string, unknown>, parts: BackupPart[], createdAt = new Date()): BackupManifest {
  const unsigned = {
    format: 'uniqverse-backup' as const,
    version: backupFormatVersion,
    created_at: createdAt.toISOString(),
    about,
    parts: parts.map((part) => ({ name: part.name, bytes: part.bytes.length, sha256: sha256(part.bytes) })),
  };
  const manifest: BackupManifest = { ...unsigned, sha256: sha256(JSON.stringify(unsigned)) };
  const temporary = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${magic} ${backupFormatVersion}\n${JSON.stringify(manifest)}\n`), ...parts.map((part) => part.bytes)]), { mode: 0o600 });
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return manifest;
}

/** Reads and checks a backup: refuses a file that is not one, one of a newer format, and one that is damaged. */
export function readBackupFile(file: string): { manifest: BackupManifest; parts: BackupPart[] } {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    throw new BackupFileError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const firstLine = data.indexOf(0x0a);
  const header = data.subarray(0, firstLine < 0 ? Math.min(data.length, 40) : firstLine).toString('latin1');
  const match = /^UNIQVERSE-BACKUP (\d+)$/.exec(header);
  if (!match) throw new BackupFileError(`${file} is not a UniQVerse backup (it does not start with "${magic}")`);
  if (Number(match[1]) > backupFormatVersion) throw new BackupFileError(`${file} is a backup of format ${match[1]}, newer than this version reads (${backupFormatVersion}): restore it with the version that made it`);
  const secondLine = data.indexOf(0x0a, firstLine + 1);
  const damaged = (why: string) => new BackupFileError(`${file} is damaged (${why}): it cannot be restored`);
  if (secondLine < 0) throw damaged('its manifest is cut off');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(data.subarray(firstLine + 1, secondLine).toString('utf8')) as BackupManifest;
  } catch {
    throw damaged('its manifest is not JSON');
  }
  const { sha256: claimed, ...unsigned } = manifest;
  if (typeof claimed !== 'string' || sha256(JSON.stringify(unsigned)) !== claimed || !Array.isArray(manifest.parts)) throw damaged('its manifest does not match its checksum');
  const parts: BackupPart[] = [];
  let offset = secondLine + 1;
  for (const part of manifest.parts) {
    const bytes = data.subarray(offset, offset + part.bytes);
    if (bytes.length !== part.bytes) throw damaged(`${part.name} is cut off`);
    if (sha256(bytes) !== part.sha256) throw damaged(`${part.name} does not match its checksum`);
    parts.push({ name: part.name, bytes });
    offset += part.bytes;
  }
  if (offset !== data.length) throw damaged(`${data.length - offset} bytes after the last part`);
  return { manifest, parts };
}
