import type { Knex } from 'knex';

/**
 * Tells every instance at commit when a cached row changed or went (src/db/change-feed.ts): a
 * provider model ("m <model> <id> <uid>"), or what the provider knows of a person ("u <id>": the
 * user row, or their privacy choices per service, which decide the claims a service gets).
 * Expired models swept away need no notice (a cached entry never outlives its row's expiry), and
 * new models none (their ids are random: nobody asked for them before). A new privacy choice
 * does need one: no row means "share everything".
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(`create function oidc_model_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('uniqverse_changes', 'm ' || old.model || ' ' || old.id || ' ' || coalesce(old.uid, ''));
      return null;
    end $$`);
  await db.raw(`create trigger oidc_model_changed after update or delete on oidc_models for each row
    when (old.expires_at is null or old.expires_at > now()) execute function oidc_model_changed()`);
  await db.raw(`create function user_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('uniqverse_changes', 'u ' || old.id);
      return null;
    end $$`);
  await db.raw('create trigger user_changed after update or delete on users for each row execute function user_changed()');
  await db.raw(`create function consent_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('uniqverse_changes', 'u ' || coalesce(new.user_id, old.user_id));
      return null;
    end $$`);
  await db.raw('create trigger consent_changed after insert or update or delete on service_consents for each row execute function consent_changed()');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop trigger if exists consent_changed on service_consents');
  await db.raw('drop function if exists consent_changed()');
  await db.raw('drop trigger if exists user_changed on users');
  await db.raw('drop function if exists user_changed()');
  await db.raw('drop trigger if exists oidc_model_changed on oidc_models');
  await db.raw('drop function if exists oidc_model_changed()');
}
