/**
 * Where the CPU of one sign-in goes, across every process on the machine that serves it or drives
 * it: the hub's main thread, the hub's thread pool (argon2id and WebCrypto's signatures run
 * there), the hub's other threads (V8's collector), its PostgreSQL backends, the Redis server and
 * the load generator (this process). With every core busy, the machine cannot finish more than
 * cores × 1,000 / (the sum) sign-ins a second: the ceiling the measured rate is set against.
 */
import { availableParallelism } from 'node:os';
import { processCpuMs, threadCpuMs, type ThreadCpu } from './cpu.ts';
import type { Measurement } from './load.ts';

export interface SignInBudget {
  /** CPU ms per sign-in. */
  hubMain: number;
  hubPool: number;
  hubOther: number;
  postgres: number | null;
  redis: number | null;
  loadGenerator: number;
  total: number;
  cores: number;
  /** Sign-ins a second the machine could finish with every core busy at this cost. */
  ceiling: number;
  measured: number;
}

/** CPU ms a second the hub and Redis spend with no sign-ins running, subtracted from the readings. */
export interface IdleCpu {
  hubMain: number;
  redis: number;
}

/**
 * Runs the sign-in loop `work` and reads each process's CPU around it. PostgreSQL's share comes
 * from `work`'s own reading (`cpu.database`, already net of idle). Null when /proc cannot be read.
 */
export async function withSignInBudget(hubPid: number, redisPid: number | null, idle: IdleCpu, work: () => Promise<Measurement>): Promise<{ measurement: Measurement; budget: SignInBudget | null }> {
  const hubBefore = threadCpuMs(hubPid);
  const redisBefore = redisPid === null ? null : processCpuMs(redisPid);
  const selfBefore = process.cpuUsage();
  const started = performance.now();
  const measurement = await work();
  const seconds = (performance.now() - started) / 1000;
  const self = process.cpuUsage(selfBefore);
  const hubAfter = threadCpuMs(hubPid);
  const redisAfter = redisPid === null ? null : processCpuMs(redisPid);
  const count = measurement.ok;
  if (!hubBefore || !hubAfter || count === 0) return { measurement, budget: null };
  const delta = (key: keyof ThreadCpu) => hubAfter[key] - hubBefore[key];
  // The hub's idle work (its pollers) runs on the main thread.
  const hubMain = Math.max(0, delta('main') - idle.hubMain * seconds) / count;
  const hubPool = delta('pool') / count;
  const hubOther = delta('other') / count;
  const redis = redisBefore !== null && redisAfter !== null ? Math.max(0, redisAfter - redisBefore - idle.redis * seconds) / count : null;
  const postgres = measurement.cpu?.database ?? null;
  const loadGenerator = (self.user + self.system) / 1000 / count;
  const total = hubMain + hubPool + hubOther + (postgres ?? 0) + (redis ?? 0) + loadGenerator;
  const cores = availableParallelism();
  return { measurement, budget: { hubMain, hubPool, hubOther, postgres, redis, loadGenerator, total, cores, ceiling: (cores * 1000) / total, measured: measurement.rps } };
}
