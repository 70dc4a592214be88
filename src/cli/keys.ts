import { ensureSigningKeys, listSigningKeys, rotateSigningKeys } from '../oidc/signing-keys.ts';
import { stringValue, UsageError, type Command } from './command.ts';

type KeyState = 'signing' | 'pending' | 'retiring' | 'expired';

interface ListedKey {
  kid: string;
  alg: string;
  state: KeyState;
  created_at: string;
  activates_at: string;
  expires_at: string | null;
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

/** The same reading of the table as loadKeySet: per alg, the newest activated key signs. */
function describeKeys(rows: Array<{ kid: string; alg: string; created_at: Date; activates_at: Date; expires_at: Date | null }>, now: Date): ListedKey[] {
  const live = (r: (typeof rows)[number]) => !r.expires_at || new Date(r.expires_at) > now;
  const signer = new Map<string, string>();
  for (const row of [...rows].sort((a, b) => new Date(b.activates_at).getTime() - new Date(a.activates_at).getTime())) {
    if (live(row) && new Date(row.activates_at) <= now && !signer.has(row.alg)) signer.set(row.alg, row.kid);
  }
  return rows.map((row) => ({
    kid: row.kid,
    alg: row.alg,
    state: !live(row) ? 'expired' : new Date(row.activates_at) > now ? 'pending' : signer.get(row.alg) === row.kid ? 'signing' : 'retiring',
    created_at: iso(row.created_at)!,
    activates_at: iso(row.activates_at)!,
    expires_at: iso(row.expires_at),
  }));
}

const stateText: Record<KeyState, string> = {
  signing: 'signs now',
  pending: 'published, signs from',
  retiring: 'published for verification until',
  expired: 'expired',
};

export const keysRotate: Command = {
  name: 'keys rotate',
  summary: 'Add the next signing key of each algorithm; it is published now and signs after a delay.',
  usage: 'keys rotate [--activate-in SECONDS] [--json]',
  options: { 'activate-in': { type: 'string' } },
  optionHelp: [
    {
      flag: '--activate-in SECONDS',
      text: 'How long the new keys are only published before they sign. Default: 2 x KEY_REFRESH_SECONDS, so every running instance publishes them first.',
    },
  ],
  notes: [
    'The keys they replace keep being published for 24 hours after the new ones start signing, so tokens they signed stay verifiable until they expire.',
    'Running hubs pick the new keys up on their next key refresh (KEY_REFRESH_SECONDS); no restart is needed.',
  ],
  examples: ['uniqverse keys rotate', 'uniqverse keys rotate --activate-in 300 --json'],
  check(values) {
    const raw = stringValue(values, 'activate-in');
    if (raw !== undefined && !/^\d{1,7}$/.test(raw)) throw new UsageError(`--activate-in must be a whole number of seconds (got "${raw}")`);
  },
  async run(ctx, values) {
    const raw = stringValue(values, 'activate-in');
    const activationDelaySeconds = raw === undefined ? 2 * ctx.config.keyRefreshSeconds : Number(raw);
    // On a database no hub has started on yet, the current keys come first, or nothing would sign until the new ones activate.
    await ensureSigningKeys(ctx.db, ctx.secrets.keys);
    const { cliActor } = await import('../audit/actors.ts');
    const added = await rotateSigningKeys(ctx.db, ctx.secrets.keys, { activationDelaySeconds, rotatedBy: cliActor() });
    const activatesAt = added[0]?.activates_at ?? new Date().toISOString();
    return {
      json: { keys: added, activates_at: activatesAt, activate_in_seconds: activationDelaySeconds },
      text: [
        `Added ${added.length} signing keys, published now:`,
        ...added.map((key) => `  ${key.kid.padEnd(16)} ${key.alg}`),
        `They start signing at ${activatesAt} (in ${activationDelaySeconds} s); the keys they replace stay published for 24 hours after that.`,
      ].join('\n'),
    };
  },
};

export const keysList: Command = {
  name: 'keys list',
  summary: 'List signing keys and what each is doing now.',
  usage: 'keys list [--json]',
  options: {},
  optionHelp: [],
  notes: ['States: signing (signs new tokens), pending (published, signs from activates_at), retiring (published so older tokens verify), expired (no longer published).'],
  examples: ['uniqverse keys list'],
  async run(ctx) {
    const keys = describeKeys(await listSigningKeys(ctx.db), new Date());
    const line = (key: ListedKey) => {
      const when = key.state === 'pending' ? ` ${key.activates_at}` : key.state === 'retiring' ? ` ${key.expires_at}` : '';
      return `  ${key.kid.padEnd(16)} ${key.alg.padEnd(6)} ${stateText[key.state]}${when}`;
    };
    return {
      json: { keys },
      text: keys.length ? [`${keys.length} signing keys:`, ...keys.map(line)].join('\n') : 'No signing keys yet: the hub makes them on its first start (or run uniqverse keys rotate).',
    };
  },
};
