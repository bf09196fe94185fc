import test from 'ava';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { splunkSiem } from '../../src/siem/splunk/index.js';
import { SplunkSiemOptions } from '../../src/siem/splunk/schema.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { startFakeSplunk, type SplunkFault } from '../helpers/fake-splunk.js';
import { pluginContext, runOnLab, startLabFeeding, raisedAlertsClosed } from '../helpers/lab.js';

const token = 'splunk-api-token-0123456789';
const hecToken = '6f1c2a9e-4b3d-4e6a-9c10-5d8e2b7a6f31';
const scenario = (name: string) =>
  loadScenariosOrThrow([join(builtinScenariosDir(), `${name}.yaml`)]).map((s) => ({
    ...s,
    spec: { ...s.spec, timeouts: { ...s.spec.timeouts, capture: 2000, detect: 1000 } },
  }));

/** The simulated lab sending XmlWinEventLog through HEC to a loopback Splunk whose ES runs our rules. */
async function splunkLab(
  t: ExecutionContext,
  fault: { fault: SplunkFault; times: number } | null = null,
  scheduled: { dispatch: string[] } | null = null,
  options: Record<string, unknown> = {},
  plain = false,
) {
  const fake = await startFakeSplunk({
    token,
    hecToken,
    rules: loadOurDetections().loaded,
    notablesOnDispatch: scheduled !== null,
    plain,
  });
  const siem = await (
    await splunkSiem.load()
  ).create(
    SplunkSiemOptions.parse({
      url: fake.url,
      tokenEnv: 'SPLUNK_TOKEN',
      hec: { url: fake.url, tokenEnv: 'SPLUNK_HEC_TOKEN', index: 'wineventlog' },
      dispatch: scheduled?.dispatch ?? [],
      ...options,
    }),
    pluginContext({ SPLUNK_TOKEN: token, SPLUNK_HEC_TOKEN: hecToken }),
  );
  const host = await startLabFeeding(t, siem, fake);
  if (fault) fake.fail(fault.fault, fault.times);
  return { fake, siem, host };
}

test('a run against Splunk: XmlWinEventLog over HEC, one export search per poll, ES notables tied to events: every signal passes', async (t) => {
  const { fake, siem, host } = await splunkLab(t);

  const run = await runOnLab({ scenarios: scenario('cmstp-profile-install-registry'), hosts: [host], siem });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  t.true(result?.signals.some((s) => s.observed.alerts.some((a) => /^Endpoint - .* - Rule$/.test(a.ruleId))));
  t.true(fake.searches.some((s) => s.search.startsWith('search index=* ')));
  t.true(fake.searches.some((s) => s.search.startsWith('search index=notable ')));
});

test('the search quota answering 503 throughout: signals are inconclusive with the reason, never failed', async (t) => {
  const { siem, host } = await splunkLab(t, { fault: { status: 503, retryAfter: '0' }, times: 10_000 });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const signals = run.results[0]?.signals ?? [];
  t.true(signals.length > 0);
  for (const s of signals) {
    t.is(s.verdict, 'inconclusive', s.reason);
    t.regex(s.reason, /\[siem:splunk\].*HTTP 503/);
  }
});

test('correlation searches that only run on their schedule: dispatched on demand once the telemetry is seen, notables follow', async (t) => {
  const { fake, siem, host } = await splunkLab(t, null, { dispatch: ['Endpoint - CMSTP Abuse - Rule'] });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  t.deepEqual(fake.dispatched, ['Endpoint - CMSTP Abuse - Rule']);
  t.true(
    result?.queries.some(
      (q) => q.kind === 'trigger' && /dispatched "Endpoint - CMSTP Abuse - Rule" \(sid /.test(q.text ?? ''),
    ),
  );
});

test('the same schedule without dispatch: telemetry captured, and the missing notables reported honestly as not detected', async (t) => {
  const { siem, host } = await splunkLab(t, null, { dispatch: [] });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const signals = run.results[0]?.signals ?? [];
  t.true(signals.length > 0);
  for (const s of signals) {
    t.is(s.verdict, 'fail');
    t.regex(s.reason, /^captured .*; not detected/);
  }
});

test('closeAlerts: the ES notables this test raised are closed through notable_update, with a comment naming the run', async (t) => {
  const { fake, siem, host } = await splunkLab(t, null, null, { closeAlerts: true });

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const { marker, raised } = raisedAlertsClosed(t, run);
  const closed = fake.notables().filter((n) => n.status === '5');
  t.is(closed.length, raised);
  for (const n of closed) t.is(n.comment, `purple-harness test run, marker ${marker}`);
});

test('plain Splunk without ES: the fired alerts of the named saved searches count, tied to events through their job results', async (t) => {
  const alertSearches = loadOurDetections().loaded.map((rule) => rule.title);
  const { siem, host } = await splunkLab(t, null, null, { alertSearches }, true);

  const run = await runOnLab({ scenarios: scenario('cmstp-local-inf-presetup'), hosts: [host], siem });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  for (const s of result?.signals ?? [])
    t.true(s.observed.alerts.every((a) => a.ref.startsWith('fired:scheduler__')));
});
