import type { Command } from './command.ts';

export const migrate: Command = {
  name: 'migrate',
  summary: 'Bring the database schema up to date (the hub also does this when it starts).',
  usage: 'migrate [--json]',
  options: {},
  optionHelp: [],
  notes: ['With MIGRATION_DATABASE_URL (the schema owner) the migrations run through it, and the role of DATABASE_URL is granted its rights: no UPDATE, DELETE or TRUNCATE on the audit tables (docs/runbook.md).'],
  examples: [
    'uniqverse migrate',
    'DATABASE_URL=postgres://uniqverse@db/uniqverse uniqverse migrate --json',
    'DATABASE_URL=postgres://uniqverse_app@db/uniqverse MIGRATION_DATABASE_URL=postgres://uniqverse_owner@db/uniqverse uniqverse migrate',
  ],
  // Every command migrates before it runs (see openCliContext); this one reports what that did.
  async run(ctx) {
    const ran = ctx.migrated;
    return {
      json: { ran },
      text: ran.length ? `Ran ${ran.length} migrations:\n${ran.map((name) => `  ${name}`).join('\n')}` : 'The database is up to date.',
    };
  },
};
