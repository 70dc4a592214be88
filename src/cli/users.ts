import { checkChoice, flag, requiredString, type Command } from './command.ts';

export const usersCreate: Command = {
  name: 'users create',
  summary: 'Create an account (email already verified).',
  usage: 'users create --email E --password P --name N [--admin] [--json]',
  options: {
    email: { type: 'string' },
    password: { type: 'string' },
    name: { type: 'string' },
    admin: { type: 'boolean' },
  },
  required: ['email', 'password', 'name'],
  optionHelp: [
    { flag: '--email E', text: 'Email address; the account signs in with it.' },
    { flag: '--password P', text: 'Password, 8 to 128 characters (15 or more is better).' },
    { flag: '--name N', text: 'Display name.' },
    { flag: '--admin', text: 'Make the account an administrator.' },
  ],
  notes: [
    'An operator vouches for accounts made here, so their email counts as verified (email_verified: true in ID tokens).',
    'The password is on the command line and may stay in your shell history; ask the person to change it.',
  ],
  examples: ['uniqverse users create --email ada@example.com --password "correct horse battery staple" --name "Ada Lovelace" --admin'],
  async run(ctx, values) {
    const { createUser } = await import('../identity/users.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const user = await createUser(
      ctx.db,
      ctx.hasher,
      {
        email: requiredString(values, 'email'),
        password: requiredString(values, 'password'),
        name: requiredString(values, 'name'),
        admin: flag(values, 'admin'),
        emailVerified: true,
      },
      cliActor(),
    );
    return {
      json: { id: user.id, email: user.email, name: user.name, is_admin: user.is_admin, email_verified: user.email_verified },
      text: `Created ${user.is_admin ? 'administrator' : 'user'} ${user.email} (${user.name}), id ${user.id}.`,
    };
  },
};

export const usersMove: Command = {
  name: 'users move',
  summary: 'Move an account\'s data to another region (data residency).',
  usage: 'users move --email E --region eu|us|in [--json]',
  options: {
    email: { type: 'string' },
    region: { type: 'string' },
  },
  required: ['email', 'region'],
  optionHelp: [
    { flag: '--email E', text: 'The account to move.' },
    { flag: '--region R', text: 'Its new home region: eu, us or in (one whose DATABASE_URL_<R> is set).' },
  ],
  notes: [
    'Copies every row of the person into the new region\'s database, then erases them from the old one; audited in both (user.moved_in, user.moved_out). They stay signed in.',
    'Needs data residency (DATABASE_URL_EU, _US or _IN); docs/residency.md.',
  ],
  examples: ['uniqverse users move --email ada@example.com --region eu'],
  async run(ctx, values) {
    checkChoice(values, 'region', ['eu', 'us', 'in']);
    const { moveToRegion } = await import('../identity/region-move.ts');
    const { cliActor } = await import('../audit/actors.ts');
    const email = requiredString(values, 'email');
    const moved = await moveToRegion(ctx.db, email, requiredString(values, 'region'), cliActor());
    return {
      json: { id: moved.id, email, from: moved.from, to: moved.to, copied: moved.copied },
      text: `Moved ${email} from ${moved.from} to ${moved.to} (${Object.values(moved.copied).reduce((a, b) => a + b, 0)} rows).`,
    };
  },
};
