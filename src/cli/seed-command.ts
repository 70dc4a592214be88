import { demoAccount, vezeServices } from '../../seeds/veze-services.ts';
import type { Command } from './command.ts';
import type { SeedResult } from './seed.ts';

function summary(result: SeedResult, issuer: string): string {
  const lines = ['VEZE services:'];
  for (const service of result.services) {
    const client = result.clients.find((c) => c.service === service.slug)!;
    lines.push(
      `  ${service.name.padEnd(13)} ${(service.created ? 'created' : 'existed').padEnd(8)} ${service.resource}`,
      `    web client ${client.client_id}${client.created ? '' : ' (existed)'}, redirect ${client.redirect_uri}`,
    );
    if (client.client_secret) lines.push(`    client secret ${client.client_secret}   (shown only now)`);
  }
  const demo = result.demo;
  lines.push('', `Demo account: ${demo.email} (${demo.name})${demo.created ? '' : ', existed'}`);
  if (demo.password) lines.push(`  password ${demo.password}   (shown only now)`);
  else lines.push('  password: set when it was created (not shown again)');
  if (result.entitlements.length) lines.push(`  tiers: ${result.entitlements.map((e) => `${e.tier} at ${e.service}`).join(', ')}`);
  const declared = result.graph.filter((g) => g.change === 'declared');
  if (declared.length) lines.push('', `GraphQL fields: ${declared.map((g) => `${g.fields.join(', ')} (${g.service})`).join(', ')}`);
  lines.push('', `Sign in at ${issuer}/account`);
  return lines.join('\n');
}

export const seedCommand: Command = {
  name: 'seed',
  summary: 'Register the five VEZE services, a web client each, and a demo account (safe to run again).',
  usage: 'seed [--json]',
  options: {},
  optionHelp: [],
  notes: [
    `Services (first party; a web client each with redirect URI http://localhost:<port>/callback): ${vezeServices.map((s) => `${s.name} ${s.port}${s.defaultTier ? ` (default tier ${s.defaultTier})` : ''}`).join(', ')}.`,
    `The demo account ${demoAccount.email} gets a generated password and the default tier at each service that has one. Client secrets and the password are printed only by the run that creates them; what exists already is left as it is.`,
  ],
  examples: ['npm run seed', 'uniqverse seed --json'],
  async run(ctx) {
    const { seed } = await import('./seed.ts');
    const result = await seed(ctx);
    return { json: { ...result }, text: summary(result, ctx.config.issuer) };
  },
};
