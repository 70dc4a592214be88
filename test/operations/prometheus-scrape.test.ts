import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { startTestHub } from '../helpers/hub.ts';
import { eventually, listeningPort } from '../helpers/oidc.ts';
import { deployDir, prometheusConfigFor, query, startPrometheus } from './prometheus.ts';
import { metricsToken } from './scrape.ts';

interface Dashboard {
  panels: Array<{ targets?: Array<{ expr: string }> }>;
}

/** Every query of a dashboard, with Grafana's variables as Prometheus would get them. */
const dashboardQueries = (file: string) =>
  (JSON.parse(readFileSync(path.join(deployDir, 'grafana/dashboards', file), 'utf8')) as Dashboard).panels
    .flatMap((panel) => panel.targets ?? [])
    .map((target) => target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$service', 'none'));

test('Debian\'s Prometheus, configured from deploy/, scrapes the hub with the bearer token and records its series', async (t) => {
  const hub = await startTestHub(t, { env: { METRICS_TOKEN: metricsToken } });
  const prometheus = await startPrometheus(t, prometheusConfigFor(t, `127.0.0.1:${listeningPort(hub)}`, metricsToken));

  for (let i = 0; i < 3; i++) t.is((await fetch(`${hub.url}/.well-known/openid-configuration`)).status, 200);
  t.is((await fetch(`${hub.url}/healthz`)).status, 200);

  const discovery = await eventually(async () => {
    const answer = await query(prometheus, 'uniqverse_http_request_duration_seconds_count{job="uniqverse",route="/.well-known/openid-configuration",method="GET",code="2xx"}');
    const value = Number(answer.data?.result[0]?.value[1] ?? 0);
    return value >= 3 ? value : undefined;
  }, 30_000, 250);
  t.true(discovery >= 3);

  const up = await query(prometheus, 'up{job="uniqverse"}');
  t.is(up.data?.result[0]?.value[1], '1', 'the scrape with the bearer token succeeds');

  // Every dashboard query is valid PromQL to this Prometheus.
  for (const expr of [...dashboardQueries('overview.json'), ...dashboardQueries('service.json')]) {
    const answer = await query(prometheus, expr);
    t.is(answer.status, 'success', `${expr}: ${answer.error ?? ''}`);
  }
});
