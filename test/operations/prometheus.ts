import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../../src/platform/views.ts';
import { freePort } from '../helpers/processes.ts';

/** Debian's Prometheus (apt-get install prometheus): never a downloaded one. */
export const promtoolPath = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
export const prometheusPath = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
export const deployDir = path.join(projectRoot, 'deploy');

/** Fails with what to do when a Prometheus binary is not installed. */
export function requireBinary(file: string): void {
  if (!existsSync(file)) throw new Error(`${file} not found: install Debian's Prometheus (sudo apt-get install -y prometheus), or set ${path.basename(file).toUpperCase()}_PATH.`);
}

/** Runs promtool; its exit code and everything it wrote. */
export function promtool(args: string[], cwd = deployDir): { status: number | null; output: string } {
  requireBinary(promtoolPath);
  const run = spawnSync(promtoolPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * deploy/prometheus/prometheus.yml as a test runs it: in a directory of the test's own, beside a
 * copy of alerts.yml, scraping `target` every second with the bearer token from a file there.
 */
export function prometheusConfigFor(t: ExecutionContext, target: string, token: string): { dir: string; config: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'uq-prometheus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = parse(readFileSync(path.join(deployDir, 'prometheus/prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: Array<{ job_name: string; authorization: { credentials_file: string }; static_configs: Array<{ targets: string[] }> }>;
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  const job = config.scrape_configs.find((c) => c.job_name === 'uniqverse')!;
  job.authorization.credentials_file = path.join(dir, 'metrics-token');
  job.static_configs = [{ targets: [target] }];
  writeFileSync(path.join(dir, 'metrics-token'), token);
  copyFileSync(path.join(deployDir, 'prometheus/alerts.yml'), path.join(dir, 'alerts.yml'));
  writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
  return { dir, config: path.join(dir, 'prometheus.yml') };
}


/** Starts Prometheus on a free port with the config given, killed when the test ends; its base URL once it is ready. */
export async function startPrometheus(t: ExecutionContext, config: { dir: string; config: string }): Promise<string> {
  requireBinary(prometheusPath);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(prometheusPath, [`--config.file=${config.config}`, `--storage.tsdb.path=${path.join(config.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    if (!t.passed && log) console.error(`--- Prometheus' log:\n${log}`);
  });
  for (let tries = 0; tries < 150; tries++) {
    if (child.exitCode !== null) throw new Error(`Prometheus exited (${child.exitCode}): ${log}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) return url;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Prometheus did not become ready: ${log}`);
}

export interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** An instant query through Prometheus' HTTP API. */
export async function query(url: string, expr: string): Promise<QueryAnswer> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await response.json()) as QueryAnswer;
}
