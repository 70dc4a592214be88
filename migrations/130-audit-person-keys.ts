import type { Knex } from 'knex';

/**
 * One key per person for the personal fields of their audit entries (addresses, browsers, email
 * addresses, names), wrapped with a key derived from the master secret. The chain hashes the
 * sealed form, so deleting a person's key (when their account is deleted) makes those fields
 * unreadable for good while every hash still verifies. No foreign key to users: the key is
 * removed on purpose, in the deletion's transaction, and an entry may name a person who never
 * had a users row (an administrator's act on a deleted account).
 *
 * Entries written before this migration are not sealed here: the audit log is append-only (its
 * trigger refuses UPDATE to every role but one that drops it), and sealing them would change
 * their hashes, which the signed checkpoints in the database and in DATA_DIR vouch for; re-hashing
 * the chain would be exactly the re-forging `audit verify` exists to catch. docs/security.md says
 * what stays readable in those older entries.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('audit_person_keys', (t) => {
    t.uuid('person_id').primary();
    t.text('wrapped_key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('audit_person_keys');
}
