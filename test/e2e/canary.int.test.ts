import test from 'ava';
import { join } from 'node:path';
import type { LoadedScenario } from '../../src/core/index.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { runOnLab, startTestLab } from '../helpers/lab.js';

/** The local-INF scenario with short deadlines, so waiting out a broken pipeline takes seconds. */
function quick(): LoadedScenario[] {
  return loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]).map((s) => ({
    ...s,
    spec: { ...s.spec, timeouts: { ...s.spec.timeouts, capture: 1500, detect: 500 } },
  }));
}

test('the canary is written after preflight, found in the SIEM with the run, and proves the pipeline', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: quick(), hosts: [lab.host], siem: lab.siem });

  const [result] = run.results;
  t.is(run.status, 'passed');
  const steps = result?.execution?.steps.map((s) => s.step) ?? [];
  t.true(steps.indexOf('canary') === steps.indexOf('preflight') + 1, steps.join(' '));
  t.is(result?.pipeline.status, 'proven');
  t.is(result?.pipeline.canary?.text, `purple-harness-canary ${result?.marker ?? ''}`);
  t.regex(
    result?.pipeline.canary?.event?.summary.CommandLine ?? '',
    /eventcreate\.exe" .*purple-harness-canary/,
  );
  t.not(result?.pipeline.canary?.seenAt, null);
});

test('forwarder down: nothing arrives, and the signals are inconclusive (a broken pipeline), never failed', async (t) => {
  const lab = await startTestLab({ forwarderDown: true });
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: quick(), hosts: [lab.host], siem: lab.siem });

  const [result] = run.results;
  t.is(result?.execution?.status, 'executed');
  t.is(result?.pipeline.status, 'unproven');
  t.is(result?.pipeline.canary?.seenAt, null);
  t.true((result?.signals.length ?? 0) > 0);
  for (const signal of result?.signals ?? []) {
    t.is(signal.verdict, 'inconclusive', signal.reason);
    t.regex(signal.reason, /neither did the pipeline canary/);
  }
  t.is(run.status, 'inconclusive');
});

test('only the canary is lost: the run is still judged, since its own events prove the pipeline', async (t) => {
  const lab = await startTestLab({ dropSignals: ['canary'] });
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: quick(), hosts: [lab.host], siem: lab.siem });

  const [result] = run.results;
  t.is(run.status, 'passed');
  t.is(result?.pipeline.status, 'proven');
  t.is(result?.pipeline.canary?.event, null);
  t.regex(result?.pipeline.reason ?? '', /event\(s\) from this run reached the SIEM/);
});

test('--preflight strict waits for the canary, and does not stage anything when it never arrives', async (t) => {
  const lab = await startTestLab({ forwarderDown: true });
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: quick(), hosts: [lab.host], siem: lab.siem, preflight: 'strict' });

  const [result] = run.results;
  t.is(run.status, 'error');
  t.regex(
    result?.execution?.reason ?? '',
    /pipeline canary written at .* did not reach the SIEM within 1\.5 s/,
  );
  t.false(result?.execution?.progress.staged);
  t.false(result?.execution?.steps.some((s) => s.step === 'stage-payload' || s.step === 'run-cmstp'));
  t.true(result?.signals.every((s) => s.verdict === 'inconclusive'));
});

test('--preflight strict with a working pipeline: the canary arrives first, then the run goes ahead and passes', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: quick(), hosts: [lab.host], siem: lab.siem, preflight: 'strict' });

  t.is(run.status, 'passed');
  t.not(run.results[0]?.pipeline.canary?.event, null);
});
