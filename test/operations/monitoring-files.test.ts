import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { projectRoot } from '../../src/platform/views.ts';
import { startTestHub } from '../helpers/hub.ts';
import { deployDir } from './prometheus.ts';
import { declaredNames, metricsToken, scrape } from './scrape.ts';

const read = (file: string) => readFileSync(path.join(deployDir, file), 'utf8');

interface Dashboard {
  panels: Array<{ targets?: Array<{ expr: string; datasource?: { uid: string } }> }>;
  templating: { list: Array<{ name: string; query: { query: string } }> };
}
const dashboard = (file: string) => JSON.parse(read(`grafana/dashboards/${file}`)) as Dashboard;

/** Every query the alert rules and the dashboards send to Prometheus. */
function queries(): Array<{ where: string; expr: string }> {
  const rules = parse(read('prometheus/alerts.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  const out = rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alerts.yml ${r.alert}`, expr: r.expr })));
  for (const file of ['overview.json', 'service.json']) {
    const board = dashboard(file);
    for (const panel of board.panels) for (const target of panel.targets ?? []) out.push({ where: file, expr: target.expr });
    for (const variable of board.templating.list) out.push({ where: `${file} $${variable.name}`, expr: variable.query.query });
  }
  return out;
}

test('every uniqverse_ metric the alert rules and dashboards query is one the hub serves', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });
  const served = declaredNames(await scrape(hub));
  const used = new Map<string, string>();
  for (const { where, expr } of queries()) for (const [name] of expr.matchAll(/\buniqverse_\w+/g)) used.set(name, where);
  t.true(used.size >= 15, `the dashboards and rules use ${used.size} metrics`);
  for (const [name, where] of used) t.true(served.has(name), `${name} (in ${where}) is not in the hub's /metrics`);
});

test('the service dashboard has a service variable, and every panel of it is filtered by it', (t) => {
  const board = dashboard('service.json');
  t.deepEqual(board.templating.list.map((v) => v.name), ['service']);
  for (const panel of board.panels) for (const target of panel.targets ?? []) t.regex(target.expr, /service="\$service"/, target.expr);
});

test('the monitoring profile of docker-compose.yml mounts files that exist, wired to each other', (t) => {
  const compose = parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { profiles?: string[]; volumes?: string[]; secrets?: string[]; environment?: Record<string, string> }>;
    secrets?: Record<string, unknown>;
  };
  const monitoring = Object.entries(compose.services).filter(([, service]) => service.profiles?.includes('monitoring'));
  t.deepEqual(monitoring.map(([name]) => name).sort(), ['grafana', 'prometheus']);
  t.true(['hub', 'postgres', 'redis'].every((name) => !compose.services[name]!.profiles), 'the hub and its stores start without a profile');

  const mounts = new Map<string, string>();
  for (const [name, service] of monitoring) {
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':') as [string, string];
      if (!source.startsWith('.')) continue;
      t.true(existsSync(path.join(projectRoot, source)), `${name} mounts ${source}, which does not exist`);
      mounts.set(target, source);
    }
    for (const secret of service.secrets ?? []) t.truthy(compose.secrets?.[secret], `${name} uses the secret ${secret}, which is not defined`);
  }
  t.is(mounts.get('/etc/prometheus/prometheus.yml'), './deploy/prometheus/prometheus.yml');
  t.is(mounts.get('/etc/prometheus/alerts.yml'), './deploy/prometheus/alerts.yml');
  t.is(mounts.get('/etc/grafana/provisioning'), './deploy/grafana/provisioning');
  t.is(mounts.get('/var/lib/grafana/dashboards'), './deploy/grafana/dashboards');
  t.is(compose.services.hub!.environment!.METRICS_TOKEN, '${METRICS_TOKEN:-}', 'the hub gets the token Prometheus sends');

  const prometheus = parse(read('prometheus/prometheus.yml')) as { scrape_configs: Array<{ authorization: { credentials_file: string }; static_configs: Array<{ targets: string[] }> }> };
  t.is(prometheus.scrape_configs[0]!.authorization.credentials_file, '/run/secrets/metrics_token');
  t.deepEqual(prometheus.scrape_configs[0]!.static_configs[0]!.targets, ['hub:3000']);
  const datasources = parse(read('grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; url: string }> };
  t.is(datasources.datasources[0]!.url, 'http://prometheus:9090');
  const providers = parse(read('grafana/provisioning/dashboards/uniqverse.yml')) as { providers: Array<{ options: { path: string } }> };
  t.is(providers.providers[0]!.options.path, '/var/lib/grafana/dashboards');
  for (const file of ['overview.json', 'service.json']) {
    for (const panel of dashboard(file).panels) for (const target of panel.targets ?? []) t.is(target.datasource?.uid, datasources.datasources[0]!.uid, `${file}: a panel's data source`);
  }
});
