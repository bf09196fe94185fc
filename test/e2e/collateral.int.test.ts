import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { markdownReporter } from '../../src/reporters/markdown/index.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { runOnLab, startTestLab } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';

/** A rule a SOC might have: PowerShell started by cmd.exe with an encoded command, as every harness step is. */
function harnessStepRule(dir: string): string {
  const folder = join(dir, 'rules');
  mkdirSync(folder);
  writeFileSync(
    join(folder, 'encoded-powershell.yml'),
    stringify({
      title: 'Encoded PowerShell started by cmd.exe',
      id: 'c0111a7e-0000-4000-8000-000000000001',
      level: 'medium',
      logsource: { product: 'windows', category: 'process_creation' },
      detection: {
        selection: {
          'ParentImage|endswith': '\\cmd.exe',
          'Image|endswith': '\\powershell.exe',
          'CommandLine|contains': '-EncodedCommand',
        },
        condition: 'selection',
      },
    }),
  );
  return folder;
}

test('#17 alerts on the harness own steps are reported apart as collateral, by step, never as evidence', async (t) => {
  const rules = harnessStepRule(tempDir(t));
  const lab = await startTestLab({}, [rules]);
  t.teardown(() => lab.close());

  const run = await runOnLab({
    scenarios: loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-all-users-au.yaml')]),
    hosts: [lab.host],
    siem: lab.siem,
  });

  const [result] = run.results;
  t.is(run.status, 'passed');
  const collateral = result?.collateral;
  t.is(collateral?.error, null);
  const alerts = collateral?.alerts ?? [];
  // Every alert is the harness-step rule's, each on one of this scenario's own steps (simulated steps are
  // milliseconds apart, so which of two neighbouring steps an event lands in is not asserted), clean-up
  // among them.
  t.true(alerts.length >= 5, JSON.stringify(alerts));
  t.true(alerts.every((a) => a.ruleId === 'c0111a7e-0000-4000-8000-000000000001'));
  const own = new Set([...(result?.execution?.steps.map((s) => s.step) ?? []), 'clean-up']);
  const steps = new Set(alerts.map((a) => a.step));
  t.true(
    [...steps].every((step) => own.has(step)),
    [...steps].join(', '),
  );
  t.true(steps.has('clean-up') && steps.size >= 3, [...steps].join(', '));
  // None of them is evidence: no signal counts an alert or an event of theirs.
  const evidenceRefs = new Set(
    result?.signals.flatMap((s) => [
      ...s.observed.alerts.map((a) => a.ref),
      ...s.observed.events.map((e) => e.ref),
    ]),
  );
  t.true(alerts.every((a) => !evidenceRefs.has(a.ref) && a.eventRefs.every((ref) => !evidenceRefs.has(ref))));
  // The evidence alerts (our own rules on cmstp) are not collateral either.
  const evidenceAlerts = result?.signals.flatMap((s) => s.observed.alerts) ?? [];
  t.true(evidenceAlerts.length > 0);
  t.true(evidenceAlerts.every((e) => !alerts.some((a) => a.ref === e.ref)));

  const report = (await markdownReporter.load())
    .create({})
    .render(run)
    .find((f) => f.path === 'report.md');
  t.regex(
    report?.content ?? '',
    /Collateral \(alerts on the harness's own steps, reported apart, never evidence\): \d+/,
  );
  t.regex(report?.content ?? '', /\| clean-up \| Encoded PowerShell started by cmd\.exe \[c0111a7e/);
});

test('#17 with only our rules, the harness own steps raise no collateral, and a neighbour scenario is not collateral', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  // Four scenarios back to back on one host, a fraction of a second apart: each one's alerts are its own
  // evidence, never the collateral of the one before or after it.
  const run = await runOnLab({
    scenarios: loadScenariosOrThrow(
      [
        'cmstp-all-users-au',
        'cmstp-profile-install-registry',
        'cmstp-local-inf-presetup',
        'cmstp-nonstandard-extension',
      ].map((name) => join(builtinScenariosDir(), `${name}.yaml`)),
    ),
    hosts: [lab.host],
    siem: lab.siem,
  });

  t.is(run.status, 'passed');
  t.is(run.results.length, 4);
  for (const result of run.results)
    t.deepEqual(result.collateral, { alerts: [], error: null }, result.scenario.id);
});

// Found by the bench once the simulated sshd set TCP_NODELAY, as OpenSSH does: scenarios then ran 100 ms
// apart, and cmstp's 500 ms window reached back into the previous scenario's clean-up.
test("#20 back to back on one host, the previous scenario's events are never the next one's evidence", async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  for (const previous of [
    'cmstp-all-users-au',
    'cmstp-profile-install-registry',
    'cmstp-local-inf-presetup',
  ]) {
    const run = await runOnLab({
      scenarios: loadScenariosOrThrow(
        [previous, 'cmstp-negative-control-admin-install'].map((name) =>
          join(builtinScenariosDir(), `${name}.yaml`),
        ),
      ),
      hosts: [lab.host],
      siem: lab.siem,
    });

    t.is(run.status, 'passed', `after ${previous}`);
    const [first, next] = run.results;
    const previousEnd = Date.parse(first?.execution?.endedAt ?? '');
    const early = (next?.signals ?? []).flatMap((s) =>
      s.observed.events.filter((e) => Date.parse(e.time) <= previousEnd).map((e) => `${s.id} ${e.time}`),
    );
    t.deepEqual(early, [], `the negative control after ${previous}`);
  }
});
