import type { CommandInfo } from './command.ts';

const environment = [
  'Environment (docs/configuration.md): DATABASE_URL (unset: embedded PGlite in $DATA_DIR/pglite, which only',
  'one process may open: stop the hub first, or use PostgreSQL), DATA_DIR, UNIQVERSE_SECRET (must be the',
  "hub's: it seals signing keys and client secrets), ISSUER, KEY_REFRESH_SECONDS.",
];

export function overallHelp(commands: readonly CommandInfo[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'uniqverse: manage a UniQVerse identity hub from the command line.',
    '',
    'Usage: uniqverse <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    '  --json      Print exactly one JSON object on stdout (errors still go to stderr, one line).',
    '  -h, --help  Show help for the command.',
    '',
    ...environment,
    '',
    'Exit status: 0 done, 1 failed, 2 called wrongly.',
    'Run "uniqverse <command> --help" for the options of one command.',
  ].join('\n');
}

export function commandHelp(command: CommandInfo): string {
  const width = Math.max(0, ...command.optionHelp.map((o) => o.flag.length));
  const lines = [`Usage: uniqverse ${command.usage}`, '', command.summary];
  if (command.optionHelp.length) {
    lines.push('', 'Options:', ...command.optionHelp.map((o) => `  ${o.flag.padEnd(width)}  ${o.text}`));
  }
  lines.push(`  ${'--json'.padEnd(width)}  Print one JSON object on stdout.`);
  for (const note of command.notes ?? []) lines.push('', note);
  lines.push('', command.examples.length > 1 ? 'Examples:' : 'Example:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** Help for a command group ("uniqverse keys"): its commands. */
export function groupHelp(group: string, commands: readonly CommandInfo[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Usage: uniqverse ${group} <${commands.map((c) => c.name.split(' ')[1]).join('|')}> [options]`,
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Run "uniqverse ${group} <command> --help" for its options.`,
  ].join('\n');
}
