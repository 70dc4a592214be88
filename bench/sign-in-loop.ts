import type { Measurement } from './load.ts';
import { signIn, UserAgent } from './sign-in.ts';
import type { Target } from './target.ts';

export const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

// The hub's long-lived browser cookie (src/sessions/sign-in-record.ts): a browser it has not seen
// before gets a "new sign-in" mail, which a person signing in again on their own browser does not.
const browserCookie = 'uq_device';
const cookieJar = (agent: UserAgent) => (agent as unknown as { cookies: Map<string, string> }).cookies;

/**
 * Complete sign-ins in a loop, each with no session (a person signing in again on a browser
 * they used before, so it keeps only its browser cookie): authorization request, the password
 * form, consent, the callback, and the code redeemed for tokens. `concurrency` people
 * sign in at once; none starts after the deadline. Counts whole sign-ins per second and the p99
 * of one whole sign-in.
 */
export async function measureSignIns(target: Target, seconds: number, concurrency: number): Promise<Measurement> {
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      let device: string | undefined;
      while (performance.now() < deadline) {
        const begin = performance.now();
        try {
          const agent = new UserAgent();
          // The same browser coming back: it keeps its browser cookie, not its session.
          if (device) cookieJar(agent).set(browserCookie, device);
          await signIn(target, agent, { scope: 'openid email profile' });
          device ??= cookieJar(agent).get(browserCookie);
          latencies.push(performance.now() - begin);
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p99: percentile(latencies, 99),
    ok: latencies.length,
    failed,
    seconds: elapsed,
    ...(firstError ? { note: firstError.slice(0, 200) } : {}),
  };
}
