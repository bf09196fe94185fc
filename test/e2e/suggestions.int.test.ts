import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunRecord, type SiemEvent } from '../../src/core/index.js';
import { openLocalSiem } from '../../src/siem/local/connector.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import { pluginContext } from '../helpers/lab.js';
import { quickScenarios, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const removed = 'ph-cmmgr32-app-paths-write';
const install = 'cmstp-profile-install-registry';
const control = 'cmstp-negative-control-admin-install';

/** A run of the profile install (and the negative control, unless left out) with our App Paths rule removed. */
async function runWithoutRule(t: Parameters<typeof tempDir>[0], withControl: boolean) {
  const cwd = tempDir(t);
  const files = quickScenarios(cwd, [`${install}.yaml`, ...(withControl ? [`${control}.yaml`] : [])]);
  writeFileSync(join(cwd, 'harness.yaml'), `siem:\n  type: local\n  exclude: [${removed}]\n`);
  const result = await runCli(['run', ...files, '--config', 'harness.yaml', '--reports-dir', 'reports'], {
    cwd,
  });
  const folder = join(cwd, 'reports', 'latest');
  const record = RunRecord.parse(JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')));
  return { cwd, folder, result, record };
}

/** The events a scenario's run captured for its signals, as its evidence bundle keeps them. */
function capturedEvents(folder: string, scenario: string, signals: readonly string[]): SiemEvent[] {
  return signals.flatMap((signal) => {
    const file = join(folder, 'evidence', scenario, 'WIN10-LAB-01', 'siem', `${signal}.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { events: SiemEvent[] }).events;
  });
}

// #21 acceptance: a rule removed from the local SIEM leaves profile-registry captured but not detected; the run
// offers a Sigma rule for it, and a fresh local SIEM loaded with that rule fires on the same captured events
// when they are ingested again, and stays quiet on the negative control's.
test('#21 with our App Paths rule removed, the run offers a Sigma rule for profile-registry that a fresh local SIEM fires on when the captured events are re-ingested, and not on the negative control', async (t) => {
  const { cwd, folder, result, record } = await runWithoutRule(t, true);
  t.is(result.exitCode, 1, result.stderr);
  const gap = record.results[0]?.signals.find((s) => s.id === 'profile-registry');
  t.is(gap?.verdict, 'fail');
  t.is(gap?.observed.captured, true);
  t.is(gap?.observed.detected, false);

  const [suggestion, ...others] = record.suggestions.offered;
  t.deepEqual(others, []);
  t.deepEqual(record.suggestions.withheld, []);
  if (suggestion === undefined) return;
  t.is(suggestion.signal, 'profile-registry');
  t.is(suggestion.scenario, install);
  t.deepEqual(suggestion.proof.negativeControls, [`${control} on WIN10-LAB-01`]);
  t.true(suggestion.proof.quietOn.negativeControl > 0 && suggestion.proof.quietOn.collateral > 0);
  // The rule carries nothing of this run: no marker, no user's SID, not the harness's folders.
  t.notRegex(suggestion.rule.sigma, /ph[a-z0-9]{12}|S-1-5-21|purple-harness\\/i);
  // The files written are the rule the record holds.
  const sigmaFile = suggestion.rule.files.find((f) => f.endsWith('.yml')) ?? '';
  t.is(readFileSync(join(folder, sigmaFile), 'utf8'), suggestion.rule.sigma);
  for (const file of suggestion.rule.files) t.true(readFileSync(join(folder, file), 'utf8').length > 0, file);

  // A fresh local SIEM, still without our rule, with the suggested one in a rules folder of its own.
  const rules = join(cwd, 'suggested');
  mkdirSync(rules);
  writeFileSync(join(rules, 'suggested.yml'), suggestion.rule.sigma);
  const { siem } = openLocalSiem(
    LocalSiemOptions.parse({ database: ':memory:', exclude: [removed], rules: [rules] }),
    pluginContext({}),
  );
  const reingest = (events: readonly SiemEvent[]) =>
    siem.store(
      events.map((e) => ({ time: e.time, host: e.host, sourcetype: 'reingest', meta: {}, fields: e.fields })),
    );
  const captured = capturedEvents(folder, install, ['profile-registry']);
  t.true(captured.length > 0);
  const fired = reingest(captured);
  t.is(fired.get(suggestion.rule.id)?.count, suggestion.proof.firesOn.length);
  const controlEvents = capturedEvents(folder, control, ['payload-file', 'cmstp-exec', 'profile-registry']);
  t.true(
    controlEvents.some((e) => e.eventId === 12 || e.eventId === 13),
    'the control wrote the registry too',
  );
  t.is(reingest(controlEvents).get(suggestion.rule.id), undefined);
  siem.closeStore();
});

test('#21 with no negative control in the run, no rule is offered, and the record says why', async (t) => {
  const { result, record } = await runWithoutRule(t, false);
  t.is(result.exitCode, 1, result.stderr);
  t.deepEqual(record.suggestions.offered, []);
  t.is(record.suggestions.withheld.length, 1);
  t.regex(record.suggestions.withheld[0]?.reason ?? '', /no negative control ran in this run/);
});
