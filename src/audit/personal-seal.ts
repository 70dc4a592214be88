import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { createSecretBox, type SecretBox } from '../platform/crypto/secret-box.ts';
import { auditPersonKeyQueries } from '../queries/audit-person-keys.ts';
import { erasedMark, personalFieldNames } from '../platform/personal-fields.ts';

/**
 * Crypto-shredding for the audit log. An entry's personal fields (the address and browser it came
 * from, email addresses and names in its data) are stored sealed with the key of the person they
 * belong to: the address and browser are the actor's (who made the request), falling back to the
 * subject's; the data's are the subject's, falling back to the actor's. The chain hashes the row
 * as stored, sealed, so when deleting an account destroys its key (`destroyAuditKey`) those fields
 * can never be read again and every hash still verifies.
 *
 * A sealed value is "sealed:v1:<person id>:<iv>.<tag>.<ciphertext>" (AES-256-GCM under the
 * person's key, the person's id as associated data) of the value's JSON. Person keys live in
 * audit_person_keys, wrapped with a key derived from the master secret, which the database does
 * not hold.
 */
const prefix = 'sealed:v1:';
/** What a sealed field whose person's key was destroyed reads as. */
export const erased = erasedMark;
/** Keys of an entry's data that hold a person's details, at any depth. */
const personalDataKeys = personalFieldNames;

// Wrapping boxes per database handle: a transaction shares its knex client's config object with
// the handle it was opened from, so every writer on a hub's database finds the hub's secret
// (several hubs with different secrets may share a process, as in the tests).
const boxes = new WeakMap<object, SecretBox>();
const handleOf = (db: Knex): object => (db.client as { config: object }).config;

/** Lets audit entries written and read through `db` (and its transactions) seal and open personal fields. */
export function sealAuditWith(db: Knex, masterSecret: string): void {
  boxes.set(handleOf(db), createSecretBox(masterSecret, 'audit-person-keys'));
}

function boxFor(db: Knex): SecretBox {
  const box = boxes.get(handleOf(db));
  if (!box) throw new Error('audit entries cannot seal or open personal fields: this database handle was opened without the master secret (sealAuditWith)');
  return box;
}

export const isSealed = (value: unknown): value is string => typeof value === 'string' && value.startsWith(prefix);

const ownerOf = (sealed: string): string => sealed.slice(prefix.length, sealed.indexOf(':', prefix.length));

function seal(key: Buffer, owner: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(owner));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${prefix}${owner}:${[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.')}`;
}

function open(key: Buffer, sealed: string): unknown {
  const owner = ownerOf(sealed);
  const [iv, tag, ciphertext] = sealed.slice(prefix.length + owner.length + 1).split('.');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
  decipher.setAAD(Buffer.from(owner));
  decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
  return JSON.parse(Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64url')), decipher.final()]).toString('utf8'));
}

/** A new key for a person, wrapped: what is stored for them on first use. */
export const newWrappedKey = (db: Knex): string => boxFor(db).seal(randomBytes(32).toString('base64url'));

/** A person's wrapped key the caller has read already (the chain's writer, with its lock). */
export interface KnownKey {
  personId: string;
  wrappedKey: string;
}

/** The person's key, made on first use, in the caller's transaction. */
async function keyOf(trx: Knex, box: SecretBox, personId: string, known: KnownKey | null): Promise<Buffer> {
  const wrapped = known?.personId === personId ? known.wrappedKey : (await auditPersonKeyQueries.ensure(trx, { person_id: personId, wrapped_key: newWrappedKey(trx) })).wrapped_key;
  return Buffer.from(box.open(wrapped), 'base64url');
}

function mapPersonal(data: unknown, each: (value: unknown) => unknown): unknown {
  if (Array.isArray(data)) return data.map((item) => mapPersonal(item, each));
  if (!data || typeof data !== 'object') return data;
  return Object.fromEntries(
    Object.entries(data as Record<string, unknown>).map(([name, value]) => [name, personalDataKeys.has(name) && value !== null && value !== undefined ? each(value) : mapPersonal(value, each)]),
  );
}

export interface PersonalFields {
  actorId: string | null;
  subjectId: string | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown>;
}

/** Whose keys sealing an entry's fields takes: the request's owner (its address and browser) and the data's owner. */
export interface KeyOwners {
  request: string | null;
  data: string | null;
}

/** Whose keys sealing the fields takes; null: nobody's (the entry names no one, or holds nothing personal). */
export function keyOwnersOf(fields: PersonalFields): KeyOwners | null {
  const requestOwner = fields.actorId ?? fields.subjectId;
  const dataOwner = fields.subjectId ?? fields.actorId;
  const personal: unknown[] = [];
  mapPersonal(fields.data, (value) => personal.push(value));
  const requestFields = Boolean(fields.ip || fields.userAgent);
  if (!requestOwner || !dataOwner || (!requestFields && !personal.length)) return null;
  return { request: requestFields ? requestOwner : null, data: personal.length ? dataOwner : null };
}

/**
 * The entry's personal fields sealed under their people's keys (unchanged when the entry names no
 * one). `owners`: `keyOwnersOf(fields)`, when the caller has it already; `known`: a key already
 * read in this transaction. Any other key is read (or made) here.
 */
export async function sealPersonalFields(
  trx: Knex,
  fields: PersonalFields,
  { owners = keyOwnersOf(fields), known = null }: { owners?: KeyOwners | null; known?: KnownKey | null } = {},
): Promise<Pick<PersonalFields, 'ip' | 'userAgent' | 'data'>> {
  if (!owners) return { ip: fields.ip, userAgent: fields.userAgent, data: fields.data };
  const box = boxFor(trx);
  const { request: requestOwner, data: dataOwner } = owners;
  const requestKey = requestOwner ? await keyOf(trx, box, requestOwner, known) : null;
  const dataKey = !dataOwner ? null : requestOwner === dataOwner && requestKey ? requestKey : await keyOf(trx, box, dataOwner, known);
  const sealRequest = (value: string | null) => (value && requestKey && requestOwner ? seal(requestKey, requestOwner, value) : value);
  return {
    ip: sealRequest(fields.ip),
    userAgent: sealRequest(fields.userAgent),
    data: dataKey && dataOwner ? (mapPersonal(fields.data, (value) => seal(dataKey, dataOwner, value)) as Record<string, unknown>) : fields.data,
  };
}

/** Opens sealed fields in many entries at once; a field whose person's key was destroyed reads "(erased)". */
export class AuditOpener {
  private readonly keys = new Map<string, Buffer | null>();
  private readonly db: Knex;

  constructor(db: Knex) {
    this.db = db;
  }

  /** Reads the keys of every person whose sealed fields appear in `rows` (one query). */
  async prepare(rows: Array<{ ip?: unknown; user_agent?: unknown; data?: unknown }>): Promise<void> {
    const owners = new Set<string>();
    const collect = (value: unknown) => {
      if (isSealed(value) && !this.keys.has(ownerOf(value))) owners.add(ownerOf(value));
      return value;
    };
    for (const row of rows) {
      collect(row.ip);
      collect(row.user_agent);
      mapPersonal(row.data, collect);
    }
    if (!owners.size) return;
    const box = boxFor(this.db);
    const found = new Map((await auditPersonKeyQueries.byPeople(this.db, [...owners])).map((k) => [k.person_id, Buffer.from(box.open(k.wrapped_key), 'base64url')]));
    for (const owner of owners) this.keys.set(owner, found.get(owner) ?? null);
  }

  value(value: unknown): unknown {
    if (!isSealed(value)) return value;
    const key = this.keys.get(ownerOf(value));
    return key ? open(key, value) : erased;
  }

  /** The row with its sealed fields opened (call `prepare` with it first). */
  row<T extends { ip?: unknown; user_agent?: unknown; data?: unknown }>(row: T): T {
    const opened = { ...row };
    if ('ip' in row) opened.ip = this.value(row.ip) as T['ip'];
    if ('user_agent' in row) opened.user_agent = this.value(row.user_agent) as T['user_agent'];
    if ('data' in row) opened.data = mapPersonal(row.data, (value) => this.value(value)) as T['data'];
    return opened;
  }

  /** How many of the row's fields are sealed under a destroyed key. */
  erasedFields(row: { ip?: unknown; user_agent?: unknown; data?: unknown }): number {
    let count = 0;
    const look = (value: unknown) => {
      if (isSealed(value) && !this.keys.get(ownerOf(value))) count++;
      return value;
    };
    look(row.ip);
    look(row.user_agent);
    mapPersonal(row.data, look);
    return count;
  }
}

/** Opens the sealed fields of these rows (a fresh opener: keys read once for all of them). */
export async function openAuditRows<T extends { ip?: unknown; user_agent?: unknown; data?: unknown }>(db: Knex, rows: T[]): Promise<T[]> {
  const opener = new AuditOpener(db);
  await opener.prepare(rows);
  return rows.map((row) => opener.row(row));
}

/**
 * How many of these rows hold a field sealed under a destroyed key: entries about a deleted
 * person, which still verify. Needs no secret: it only asks which keys exist.
 */
export async function countErasedRows(db: Knex, rows: Array<{ ip?: unknown; user_agent?: unknown; data?: unknown }>): Promise<number> {
  const ownersPerRow = rows.map((row) => {
    const owners = new Set<string>();
    const collect = (value: unknown) => {
      if (isSealed(value)) owners.add(ownerOf(value));
      return value;
    };
    collect(row.ip);
    collect(row.user_agent);
    mapPersonal(row.data, collect);
    return owners;
  });
  const all = [...new Set(ownersPerRow.flatMap((owners) => [...owners]))];
  if (!all.length) return 0;
  const kept = new Set((await auditPersonKeyQueries.byPeople(db, all)).map((k) => k.person_id));
  return ownersPerRow.filter((owners) => [...owners].some((owner) => !kept.has(owner))).length;
}

/** Crypto-shredding: the person's sealed audit fields become unreadable for good (in the caller's transaction). */
export async function destroyAuditKey(trx: Knex, personId: string): Promise<void> {
  await auditPersonKeyQueries.destroy(trx, personId);
}
