import type { Knex } from 'knex';
import * as m001 from './001-users.ts';
import * as m002 from './002-services.ts';
import * as m003 from './003-clients.ts';
import * as m004 from './004-entitlements.ts';
import * as m005 from './005-oidc-models.ts';
import * as m006 from './006-signing-keys.ts';
import * as m007 from './007-outbox.ts';
import * as m020 from './020-audit-log.ts';
import * as m021 from './021-email-tokens.ts';
import * as m022 from './022-known-devices.ts';
import * as m023 from './023-credential-notice-cursor.ts';
import * as m040 from './040-passkeys.ts';
import * as m041 from './041-webauthn-challenges.ts';
import * as m042 from './042-totp-factors.ts';
import * as m043 from './043-recovery-codes.ts';
import * as m044 from './044-app-passwords.ts';
import * as m045 from './045-pending-second-factors.ts';
import * as m046 from './046-credential-failures.ts';
import * as m047 from './047-drop-credential-failures.ts';
import * as m080 from './080-session-sightings.ts';
import * as m081 from './081-service-consents.ts';
import * as m060 from './060-outbox-relay.ts';
import * as m061 from './061-event-tasks.ts';
import * as m062 from './062-webhooks.ts';
import * as m063 from './063-webhook-deliveries.ts';
import * as m064 from './064-devices.ts';
import * as m090 from './090-change-notices.ts';
import * as m024 from './024-email-change-tokens.ts';
import * as m100 from './100-service-rate-limits.ts';
import * as m110 from './110-outbox-audience.ts';
import * as m111 from './111-audit-chain.ts';
import * as m112 from './112-entitlement-expiry-index.ts';
import * as m120 from './120-user-locale.ts';
import * as m130 from './130-audit-person-keys.ts';
import * as m140 from './140-device-links.ts';
import * as m141 from './141-live-tickets.ts';
import * as m142 from './142-handoffs.ts';
import * as m150 from './150-push.ts';
import * as m160 from './160-token-exchange.ts';
import * as m170 from './170-service-health.ts';
import * as m171 from './171-daily-summaries.ts';
import * as m180 from './180-graph-sources.ts';
import * as m181 from './181-outbox-occurred-brin.ts';
import * as m182 from './182-audit-lock-and-last.ts';
import * as m183 from './183-audit-lock-and-person-key.ts';
import * as m184 from './184-webhook-routing-version.ts';
import * as m185 from './185-person-directory.ts';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const migrations: Array<[name: string, migration: Migration]> = [
  ['001-users', m001],
  ['002-services', m002],
  ['003-clients', m003],
  ['004-entitlements', m004],
  ['005-oidc-models', m005],
  ['006-signing-keys', m006],
  ['007-outbox', m007],
  ['020-audit-log', m020],
  ['021-email-tokens', m021],
  ['022-known-devices', m022],
  ['023-credential-notice-cursor', m023],
  ['040-passkeys', m040],
  ['041-webauthn-challenges', m041],
  ['042-totp-factors', m042],
  ['043-recovery-codes', m043],
  ['044-app-passwords', m044],
  ['045-pending-second-factors', m045],
  ['046-credential-failures', m046],
  ['047-drop-credential-failures', m047],
  ['080-session-sightings', m080],
  ['081-service-consents', m081],
  ['060-outbox-relay', m060],
  ['061-event-tasks', m061],
  ['062-webhooks', m062],
  ['063-webhook-deliveries', m063],
  ['064-devices', m064],
  ['090-change-notices', m090],
  ['024-email-change-tokens', m024],
  ['100-service-rate-limits', m100],
  ['110-outbox-audience', m110],
  ['111-audit-chain', m111],
  ['112-entitlement-expiry-index', m112],
  ['120-user-locale', m120],
  ['130-audit-person-keys', m130],
  ['140-device-links', m140],
  ['141-live-tickets', m141],
  ['142-handoffs', m142],
  ['150-push', m150],
  ['160-token-exchange', m160],
  ['170-service-health', m170],
  ['171-daily-summaries', m171],
  ['180-graph-sources', m180],
  ['181-outbox-occurred-brin', m181],
  ['182-audit-lock-and-last', m182],
  ['183-audit-lock-and-person-key', m183],
  ['184-webhook-routing-version', m184],
  ['185-person-directory', m185],
];
