/**
 * The flags a hub process runs with.
 *
 * `--max-semi-space-size=4`: a 4 MB semi-space (each half of the young generation; V8's default
 * here is 16 MB) makes each young-generation collection a few milliseconds instead of 10–20, and
 * those pauses are what a live event meets at the tail of its delivery. Not 2 MB: objects then
 * lived long enough to be promoted twice as often, and the old generation's collections (12–30 ms
 * pauses with 10,000 connections open) became the tail instead.
 *
 * `--experimental-async-context-frame`: AsyncLocalStorage (the provider keeps each request in one)
 * carried by V8 itself instead of by promise hooks. With hooks, every promise the hub makes calls
 * into them; without, the token endpoints' CPU per request fell by 8–20% (1.33–1.51× the bare
 * provider's to 1.18–1.31× in alternating runs, docs/benchmarks.md). Node 24 does this by
 * default; on Node 22 it is still behind this flag, and the tests run with it too (ava.config.js).
 *
 * Node reads both only as the process starts, so every way the hub starts passes them: `npm
 * start`, the `uniqverse` command's first line, the Docker image, the processes of `--workers`
 * (given them by the primary) and the bench's hubs.
 */
export const hubNodeFlags: readonly string[] = ['--max-semi-space-size=4', '--experimental-async-context-frame'];

/** The flags of `hubNodeFlags` this process was started without, by name (a value of one's own, or turning one off, counts as given). */
export function missingHubNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName);
  return hubNodeFlags.filter((flag) => !given.includes(flagName(flag)));
}

/** V8 spells a flag's words with - or _ alike; `--no-x` is a choice of one's own about `--x`. */
const flagName = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-').replace(/^--no-/, '--');

/** execArgv with `hubNodeFlags` added where missing, for a hub process to be started with. */
export function withHubNodeFlags(execArgv: readonly string[]): string[] {
  return [...missingHubNodeFlags(execArgv, ''), ...execArgv];
}
