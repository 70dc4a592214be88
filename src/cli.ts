import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { auditVerify } from './cli/audit.ts';
import { backupCommand, restoreCommand } from './cli/backup.ts';
import { clientsCreate } from './cli/clients.ts';
import { UsageError, type AnyCommand, type CommandOutput, type Values } from './cli/command.ts';
import { entitlementsGrant, entitlementsRevoke } from './cli/entitlements.ts';
import { commandHelp, groupHelp, overallHelp } from './cli/help.ts';
import { keysList, keysRotate } from './cli/keys.ts';
import { migrate } from './cli/migrate.ts';
import { seedCommand } from './cli/seed-command.ts';
import { servicesAllowExchange, servicesCreate, servicesDenyExchange, servicesLimits, servicesUpdate, servicesUpstream } from './cli/services.ts';
import { servicesGraph } from './cli/graph-sources.ts';
import { startCommand } from './cli/start.ts';
import { usersCreate, usersMove } from './cli/users.ts';
import { webhookCommands } from './cli/webhooks.ts';

const commands: readonly AnyCommand[] = [startCommand, usersCreate, usersMove, servicesCreate, servicesUpdate, servicesLimits, servicesUpstream, servicesAllowExchange, servicesDenyExchange, servicesGraph, clientsCreate, entitlementsGrant, entitlementsRevoke, keysRotate, keysList, migrate, seedCommand, auditVerify, backupCommand, restoreCommand, ...webhookCommands];

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';

type Invocation = { help: string; ok: boolean } | { command: AnyCommand; args: string[] };

/** Finds the command in "group sub [options]" or "name [options]"; help and usage mistakes come back as text. */
function resolve(argv: string[]): Invocation {
  const [first, second] = argv;
  if (first === undefined) return { help: overallHelp(commands), ok: false };
  if (isHelp(first)) return { help: overallHelp(commands), ok: true };
  if (first === 'help') {
    if (argv.length === 1) return { help: overallHelp(commands), ok: true };
    return resolveHelp(argv.slice(1).filter((a) => !a.startsWith('-')));
  }
  if (first.startsWith('-')) throw new UsageError(`name a command before ${first} (run "uniqverse --help" for the list)`);
  const single = commands.find((c) => c.name === first);
  if (single) return { command: single, args: argv.slice(1) };
  const group = commands.filter((c) => c.name.startsWith(`${first} `));
  if (!group.length) throw new UsageError(`unknown command "${first}" (run "uniqverse --help" for the list)`);
  if (second === undefined) return { help: groupHelp(first, group), ok: false };
  if (isHelp(second)) return { help: groupHelp(first, group), ok: true };
  const command = group.find((c) => c.name === `${first} ${second}`);
  if (!command) {
    const subs = group.map((c) => c.name.split(' ')[1]).join(', ');
    throw new UsageError(`unknown command "${first} ${second}": ${first} has ${subs}`);
  }
  return { command, args: argv.slice(2) };
}

function resolveHelp(words: string[]): Invocation {
  const found = resolve(words);
  if ('help' in found) return { help: found.help, ok: true };
  return { help: commandHelp(found.command), ok: true };
}

function parse(command: AnyCommand, args: string[]): Values {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: Boolean(command.positionals),
    }) as { values: Values; positionals: string[] });
  } catch (error) {
    if (!String((error as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw error;
    // Node's messages go on with advice about "--"; the first sentence says what is wrong.
    throw new UsageError((error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
  if (values.help) return values;
  const names = command.positionals ?? [];
  if (positionals.length > names.length) throw new UsageError(`Unexpected argument '${positionals[names.length]}'`);
  const absent = names.filter((name, index) => positionals[index] === undefined);
  if (absent.length) throw new UsageError(`missing ${absent.map((name) => `<${name}>`).join(' ')}`);
  names.forEach((name, index) => (values[name] = positionals[index]));
  const missing = (command.required ?? []).filter((name) => values[name] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
  command.check?.(values);
  return values;
}

// The database, the provider and the domain modules load only when a command runs
// (commands import theirs inside run()), so --help and a mistyped option answer at once.
async function execute(command: AnyCommand, values: Values): Promise<CommandOutput> {
  const { loadConfig } = await import('./platform/config.ts');
  const { openCliContext } = await import('./cli/context.ts');
  const config = loadConfig();
  // A hub process under `start --workers` runs this again; the primary has shown the warnings.
  if (!values.json && !cluster.isWorker) for (const warning of config.warnings) process.stderr.write(`uniqverse: warning: ${warning}\n`);
  if ('standalone' in command) return command.standalone(config, values);
  const ctx = await openCliContext(config);
  try {
    return await command.run(ctx, values);
  } finally {
    await ctx.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let command: AnyCommand | null = null;
  try {
    const invocation = resolve(argv);
    if ('help' in invocation) {
      const out = json ? `${JSON.stringify({ help: invocation.help })}\n` : `${invocation.help}\n`;
      (invocation.ok ? process.stdout : process.stderr).write(out);
      return invocation.ok ? 0 : 2;
    }
    command = invocation.command;
    const values = parse(command, invocation.args);
    if (values.help) {
      process.stdout.write(json ? `${JSON.stringify({ help: commandHelp(command) })}\n` : `${commandHelp(command)}\n`);
      return 0;
    }
    const output = await execute(command, values);
    process.stdout.write(values.json ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return 0;
  } catch (error) {
    const failure: { message: string; exitCode: number; stack?: string } =
      error instanceof UsageError ? { message: error.message, exitCode: 2 } : (await import('./cli/errors.ts')).describeFailure(error, command);
    const hint = error instanceof UsageError && command ? ` (see "uniqverse ${command.name} --help")` : '';
    process.stderr.write(`uniqverse: ${failure.message}${hint}\n`);
    if (failure.stack && /^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '')) process.stderr.write(`${failure.stack}\n`);
    return failure.exitCode;
  }
}

process.exitCode = await main(process.argv.slice(2));
