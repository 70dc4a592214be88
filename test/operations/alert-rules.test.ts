import test from 'ava';
import { prometheusConfigFor, promtool } from './prometheus.ts';

test('promtool accepts the alert rules', (t) => {
  const run = promtool(['check', 'rules', 'prometheus/alerts.yml']);
  t.is(run.status, 0, run.output);
  t.regex(run.output, /SUCCESS: \d+ rules found/);
});

test('the alert rules\' unit tests pass: each alert fires on its example series and stays quiet on the others', (t) => {
  const run = promtool(['test', 'rules', 'prometheus/alerts.test.yml']);
  t.is(run.status, 0, run.output);
  t.regex(run.output, /SUCCESS/);
});

test('promtool accepts the Prometheus configuration (with its token file where compose mounts it)', (t) => {
  const { config } = prometheusConfigFor(t, '127.0.0.1:9', 'a-token-of-sixteen-characters');
  const run = promtool(['check', 'config', config]);
  t.is(run.status, 0, run.output);
});
