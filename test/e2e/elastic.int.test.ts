import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startPayloadServer } from '../../src/payload-server/server.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { elasticSiem } from '../../src/siem/elastic/index.js';
import { ElasticSiemOptions } from '../../src/siem/elastic/schema.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { startFakeElastic, type Fault } from '../helpers/fake-elastic.js';
import { localSchedule } from '../../src/poll/poll.js';
import { runCli } from '../helpers/cli.js';
import { pluginContext, runOnLab, startLabFeeding, raisedAlertsClosed } from '../helpers/lab.js';
import { reportTexts, tempDir } from '../helpers/tmp.js';

const apiKey = Buffer.from('lab:elastic-key-0123456789').toString('base64');
const scenario = (name: string) =>
  loadScenariosOrThrow([join(builtinScenariosDir(), `${name}.yaml`)]).map((s) => ({
    ...s,
    spec: { ...s.spec, timeouts: { ...s.spec.timeouts, capture: 2000, detect: 1000 } },
  }));

/** The simulated lab feeding a loopback Elasticsearch whose "detection engine" runs our Sigma rules. */
async function elasticLab(
  t: ExecutionContext,
  faults: { fault: Fault; times: number } | null = null,
  knobs: Parameters<typeof startLabFeeding>[3] = {},
  options: Record<string, unknown> = {},
) {
  const fake = await startFakeElastic({
    authorization: `ApiKey ${apiKey}`,
    rules: loadOurDetections().loaded,
  });
  const siem = await (
    await elasticSiem.load()
  ).create(
    ElasticSiemOptions.parse({ url: fake.url, apiKeyEnv: 'ES_API_KEY', ...options }),
    pluginContext({ ES_API_KEY: apiKey }),
  );
  const host = await startLabFeeding(t, siem, fake, knobs);
  if (faults) fake.fail(faults.fault, faults.times);
  return { fake, siem, host };
}

test('a run against Elasticsearch: ECS documents via _bulk, one _search per poll, alerts linked by ancestors: every signal passes', async (t) => {
  const { fake, siem, host } = await elasticLab(t);

  const run = await runOnLab({ scenarios: scenario('cmstp-all-users-au'), hosts: [host], siem });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  t.true(result?.signals.every((s) => s.observed.alerts.length > 0 || s.expected.detected !== true));
  t.regex(
    result?.signals[0]?.observed.events[0]?.ref ?? '',
    /^logs-windows\.sysmon_operational-purpleharness\//,
  );
  // Every poll is one search for all pending signals (plus the alert lookups).
  const searches = fake.requests.filter((r) => r.path.endsWith('/_search') && !r.path.includes('alerts'));
  const alertSearches = fake.requests.filter((r) => r.path.includes('.alerts-security'));
  t.true(searches.length >= 1);
  t.true(alertSearches.length >= 1);
  t.true(fake.requests.some((r) => r.path === '/_bulk'));
  // Both kinds of query are in the evidence with their text.
  t.true(result?.queries.some((q) => q.kind === 'telemetry' && (q.text ?? '').includes('/_search')));
  t.true(
    result?.queries.some(
      (q) => q.kind === 'detections' && (q.text ?? '').includes('kibana.alert.ancestors.id'),
    ),
  );
});

test('Elasticsearch answering 503 throughout: signals are inconclusive with the reason, never failed', async (t) => {
  const { siem, host } = await elasticLab(t, { fault: { status: 503, retryAfter: '0' }, times: 10_000 });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const signals = run.results[0]?.signals ?? [];
  t.true(signals.length > 0);
  for (const s of signals) {
    t.is(s.verdict, 'inconclusive', s.reason);
    t.regex(s.reason, /\[siem:elastic\].*HTTP 503/);
  }
});

test('failed shards throughout: partial results never count as "not captured"', async (t) => {
  const { siem, host } = await elasticLab(t, { fault: { shardsFailed: 2 }, times: 10_000 });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  for (const s of run.results[0]?.signals ?? []) {
    t.is(s.verdict, 'inconclusive', s.reason);
    t.regex(s.reason, /partial results: 2 shard\(s\) failed/);
  }
});

test('an event that reaches Elasticsearch only after its deadline is found by the final sweep and judged late', async (t) => {
  // child-process events are held back past the 2 s capture deadline, but not past the final sweep. The
  // deadline runs from when polling starts, after the emulation's own steps: a 5 s hold stays late even when
  // a loaded machine starts polling seconds after cmstp ran (3 s was not, once, in CI).
  const { siem, host } = await elasticLab(t, null, { delaySignals: { 'child-process': 5000 } });

  const run = await runOnLab({
    scenarios: scenario('cmstp-local-inf-presetup'),
    hosts: [host],
    siem,
    schedule: { ...localSchedule, finalSweepDelayMs: 4000 },
  });

  const signals = run.results[0]?.signals ?? [];
  const child = signals.find((s) => s.id === 'child-process');
  t.is(child?.verdict, 'fail', child?.reason);
  t.is(child?.timing, 'late');
  t.regex(child?.reason ?? '', /only after the 2\.0 s deadline \(first seen by the final sweep\)/);
  t.true(signals.filter((s) => s.id !== 'child-process').every((s) => s.verdict === 'pass'));
  t.is(run.status, 'failed');
  t.is(run.summary.late, 1);
});

test('the CLI with `siem: {type: elastic}` and a .env: the embedded lab feeds Elasticsearch, the run passes, and the key never leaks', async (t) => {
  const cwd = tempDir(t);
  const fake = await startFakeElastic({
    authorization: `ApiKey ${apiKey}`,
    rules: loadOurDetections().loaded,
  });
  t.teardown(() => fake.close());
  writeFileSync(
    join(cwd, 'harness.yaml'),
    [
      'siem:',
      '  type: elastic',
      `  url: ${fake.url}`,
      '  apiKeyEnv: ES_API_KEY',
      'reports:',
      '  dir: out',
      '',
    ].join('\n'),
  );
  writeFileSync(join(cwd, '.env'), `ES_API_KEY=${apiKey}\n`);

  const result = await runCli(
    ['run', join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml'), '--config', 'harness.yaml'],
    { cwd },
  );

  t.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  t.regex(result.stderr, /SIEM: Elasticsearch at http:\/\/127\.0\.0\.1:\d+/);
  const runDir = join(cwd, 'out', readdirSync(join(cwd, 'out')).find((d) => d !== 'latest') ?? '');
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as {
    siem: { id: string };
    results: { queries: { text: string }[] }[];
  };
  t.is(run.siem.id, 'elastic');
  t.regex(run.results[0]?.queries[0]?.text ?? '', /^POST \/logs-windows\.sysmon_operational-\*/);
  for (const text of [result.stdout, result.stderr, ...reportTexts(runDir)])
    t.false(text.includes(apiKey), 'the API key leaked');
});

test('closeAlerts: after the verdicts, the Security alerts this test raised are closed with a reason naming the run', async (t) => {
  const { fake, siem, host } = await elasticLab(t, null, {}, { closeAlerts: true });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const { marker, raised } = raisedAlertsClosed(t, run);
  const alerts = fake.documents('.alerts-security.alerts-default');
  const closed = alerts.filter((a) => a['kibana.alert.workflow_status'] === 'closed');
  t.is(closed.length, raised);
  for (const a of closed)
    t.is(a['kibana.alert.workflow_reason'], `purple-harness test run, marker ${marker}`);
});

test('#15 remote scriptlet from an IP-literal host: remote-fetch matches Sysmon 3 on address and port (its DestinationHostname is empty), and typed ECS fields take term queries Elasticsearch accepts', async (t) => {
  const payloadServer = await startPayloadServer({ bind: '127.0.0.1', port: 0, advertisedHost: '127.0.0.1' });
  t.teardown(() => payloadServer.close());
  const { fake, siem, host } = await elasticLab(t);

  const run = await runOnLab({
    scenarios: scenario('cmstp-remote-scriptlet'),
    hosts: [host],
    siem,
    payloadServer,
  });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  const fetch = result?.signals.find((s) => s.id === 'remote-fetch');
  t.is(fetch?.verdict, 'pass');
  const connection = fake
    .documents('logs-windows.sysmon_operational-purpleharness')
    .find((d) => (d.event as { code?: string } | undefined)?.code === '3');
  t.is((connection?.destination as { domain?: string } | undefined)?.domain ?? '', '');
  // No search was refused (the fake answers 400 to a wildcard on an ip or long field, as Elasticsearch does).
  t.deepEqual(fake.refused, []);
});

test('#16 Elasticsearch refusing one clause of the batched search: only that signal is inconclusive, naming the refusal; the others are still judged', async (t) => {
  // This cluster's own template types registry.path as a number, so the wildcard on it is refused (HTTP 400).
  const fake = await startFakeElastic({
    authorization: `ApiKey ${apiKey}`,
    rules: loadOurDetections().loaded,
    mappings: { 'registry.path': 'long' },
  });
  const siem = await (
    await elasticSiem.load()
  ).create(
    ElasticSiemOptions.parse({ url: fake.url, apiKeyEnv: 'ES_API_KEY' }),
    pluginContext({ ES_API_KEY: apiKey }),
  );
  const host = await startLabFeeding(t, siem, fake);

  const run = await runOnLab({
    scenarios: scenario('cmstp-profile-install-registry'),
    hosts: [host],
    siem,
  });

  const signals = run.results[0]?.signals ?? [];
  const registry = signals.find((s) => s.id === 'profile-registry');
  t.is(registry?.verdict, 'inconclusive');
  t.regex(registry?.reason ?? '', /refused this signal's query: .*registry\.path.*\[long\]/);
  const others = signals.filter((s) => s.id !== 'profile-registry');
  t.true(others.length >= 3);
  for (const s of others) t.is(s.verdict, 'pass', `${s.id}: ${s.reason}`);
  // Not a passed run: one signal was not judged.
  t.not(run.status, 'passed');
  t.true(fake.refused.length > 0);
});
