/**
 * `npx node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from S] [--to S]`: where a
 * server's CPU went, from a profile written by `npm run bench -- --profile DIR`. A timeline of
 * busy time per second (to pick the window of one case and leave start-up out), then, within
 * the window, self time by package (or by our own folder) and the heaviest functions.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<package>, our src/<folder>, node:internal, or (the VM's own: gc, idle, program). */
export function owner(url: string): string {
  if (!url) return '(vm)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  const ours = /\/(src|bench|test)\/([^/]+)/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    console.error('usage: npx node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from S] [--to S]');
    process.exit(64);
  }
  const from = Number(values.from ?? 0) * 1e6;
  const to = Number(values.to ?? Infinity) * 1e6;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const timeline: number[] = [];
  let at = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (byId.get(id)!.callFrame.functionName !== '(idle)') timeline[Math.floor(at / 1e6)] = (timeline[Math.floor(at / 1e6)] ?? 0) + us;
    if (at >= from && at < to) self.set(id, (self.get(id) ?? 0) + us);
  });
  console.log('busy per second: ' + Array.from(timeline, (us, s) => `${s}:${Math.round((us ?? 0) / 1e4)}%`).join(' '));
  let total = 0;
  let idle = 0;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const who = frame.functionName.startsWith('(') ? frame.functionName : owner(frame.url);
    byOwner.set(who, (byOwner.get(who) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const busy = total - idle;

  // Inclusive: the share of busy samples with at least one frame of that owner on the stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  const inclusiveFunctions = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const owners = new Set<string>();
    const functions = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url) owners.add(owner(frame.url));
      if (frame.url && !frame.url.startsWith('node:')) functions.add(`${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${frame.lineNumber + 1}`);
    }
    for (const who of owners) inclusive.set(who, (inclusive.get(who) ?? 0) + us);
    for (const name of functions) inclusiveFunctions.set(name, (inclusiveFunctions.get(name) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)`);
  console.log('\nself time by owner:');
  for (const [who, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(us)}  ${who}`);
  console.log('\ninclusive (owner anywhere on the stack):');
  for (const [who, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(us)}  ${who}`);
  console.log('\nheaviest functions (inclusive, outside node:):');
  for (const [name, us] of [...inclusiveFunctions].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25))) console.log(`  ${pct(us)}  ${name}`);
  console.log('\nheaviest functions (self):');
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25))) console.log(`  ${pct(us)}  ${name}`);
}

main();
