import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startLabSimulator } from '../../src/lab/simulator.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { sentinelSiem } from '../../src/siem/sentinel/index.js';
import { SentinelSiemOptions } from '../../src/siem/sentinel/schema.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { startFakeSentinel } from '../helpers/fake-sentinel.js';
import { hostOf, pluginContext, runOnLab } from '../helpers/lab.js';

const workspaceId = '0d9b4c2a-7e1f-4a3b-8c5d-6e7f8a9b0c1d';
const token = 'eyJ0eXAiOiJKV1QifQ.e2e-sentinel-token';
const armToken = 'eyJ0eXAiOiJKV1QifQ.e2e-arm-token';
const quick = () =>
  loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]).map((s) => ({
    ...s,
    spec: { ...s.spec, timeouts: { ...s.spec.timeouts, capture: 2000, detect: 1000 } },
  }));

/** A loopback workspace running our rules as analytics rules, fed by the simulated lab. */
async function sentinelLab(t: ExecutionContext, closeIncidents = false) {
  const fake = await startFakeSentinel({
    workspaceId,
    token,
    armToken,
    rules: loadOurDetections().loaded,
  });
  const siem = await (
    await sentinelSiem.load()
  ).create(
    SentinelSiemOptions.parse({
      workspaceId,
      endpoint: fake.url,
      credential: 'token',
      ...(closeIncidents
        ? {
            closeIncidents: {
              subscriptionId: '11111111-2222-4333-8444-555555555555',
              resourceGroup: 'rg-lab',
              workspaceName: 'law-lab',
              armEndpoint: fake.url,
            },
          }
        : {}),
    }),
    pluginContext({ SENTINEL_TOKEN: token, SENTINEL_ARM_TOKEN: armToken }),
  );
  // The fake workspace's ingestion stands in for the Azure Monitor Agent on a real VM.
  const password = randomBytes(12).toString('hex');
  const lab = await startLabSimulator({ password, hec: fake.hec });
  t.teardown(async () => {
    await lab.close();
    await siem.dispose();
    await fake.close();
  });
  return { fake, siem, host: hostOf(lab, password) };
}

test('a run against Sentinel: one KQL union per poll, SecurityAlert tied to events through its entities: every signal passes', async (t) => {
  const { fake, siem, host } = await sentinelLab(t);
  const run = await runOnLab({ scenarios: quick(), hosts: [host], siem });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  t.true(result?.signals.some((s) => s.observed.alerts.length > 0));
  t.true(fake.queries.some((q) => q.query.startsWith('union isfuzzy=true')));
  t.true(fake.queries.some((q) => q.query.startsWith('SecurityAlert')));
});

test('Log Analytics answering PartialError throughout: signals are inconclusive, never failed', async (t) => {
  const { fake, siem, host } = await sentinelLab(t);
  fake.fail({ partial: true }, 10_000);

  const run = await runOnLab({ scenarios: quick(), hosts: [host], siem });

  const signals = run.results[0]?.signals ?? [];
  t.true(signals.length > 0);
  for (const s of signals) {
    t.is(s.verdict, 'inconclusive', s.reason);
    t.regex(s.reason, /\[siem:sentinel\] partial results/);
  }
});

test('closeIncidents: the incidents this test raised are closed as benign positives through the incidents API', async (t) => {
  const { fake, siem, host } = await sentinelLab(t, true);

  const run = await runOnLab({ scenarios: quick(), hosts: [host], siem });

  const [result] = run.results;
  t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
  // Incidents are what is closed: their alerts follow them in Sentinel.
  const incidents = new Set(
    result?.signals.flatMap((s) =>
      s.observed.alerts.map((a) => a.ref).filter((ref) => ref.startsWith('SecurityIncident:')),
    ),
  );
  t.true(incidents.size > 0);
  t.deepEqual(new Set(result?.alertCleanup?.closed), incidents);
  const marker = result?.marker ?? '';
  const closed = fake.incidents().filter((i) => i.status === 'Closed');
  t.true(closed.length > 0);
  for (const i of closed) {
    t.is(i.classification, 'BenignPositive');
    t.is(i.classificationComment, `purple-harness test run, marker ${marker}`);
  }
});
