/**
 * The V8 settings a hub process runs with. A 4 MB semi-space (each half of the young generation;
 * V8's default here is 16 MB) makes each young-generation collection a few milliseconds instead
 * of 10–20, and those pauses are what a live event meets at the tail of its delivery. Not 2 MB:
 * objects then lived long enough to be promoted twice as often, and the old generation's
 * collections (12–30 ms pauses with 10,000 connections open) became the tail instead. The CPU per
 * request of the token endpoints and the sign-in did not move with either (docs/benchmarks.md).
 *
 * V8 reads it only as the process starts, so every way the hub starts passes it: `npm start`, the
 * `uniqverse` command's first line, the Docker image, the processes of `--workers` (given them by
 * the primary) and the bench's hubs.
 */
export const hubNodeFlags: readonly string[] = ['--max-semi-space-size=4'];

/** The flags of `hubNodeFlags` this process was started without, by name (a value of one's own counts as given). */
export function missingHubNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName);
  return hubNodeFlags.filter((flag) => !given.includes(flagName(flag)));
}

/** V8 spells a flag's words with - or _ alike. */
const flagName = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-');

/** execArgv with `hubNodeFlags` added where missing, for a hub process to be started with. */
export function withHubNodeFlags(execArgv: readonly string[]): string[] {
  return [...missingHubNodeFlags(execArgv, ''), ...execArgv];
}
