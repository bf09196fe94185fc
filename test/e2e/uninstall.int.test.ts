import test from 'ava';
import { join } from 'node:path';
import type { SignalDefinition } from '../../src/core/index.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { runOnLab, startTestLab, type TestLab } from '../helpers/lab.js';

const scenarioFile = (name: string) => join(builtinScenariosDir(), `${name}.yaml`);

/** Every cmstp.exe start naming the marker that reached the SIEM, with its event time. */
async function cmstpStarts(lab: TestLab, marker: string): Promise<{ time: string; commandLine: string }[]> {
  await lab.lab.flush();
  const now = Date.now();
  const window = { since: new Date(now - 120_000), until: new Date(now + 60_000) };
  const probe: SignalDefinition = {
    id: 'cmstp-exec',
    title: 'cmstp starts',
    description: '',
    requires: 'started',
    correlation: 'marker',
    telemetry: [{ eventIds: [1], match: { Image: { op: 'endswith', value: '\\cmstp.exe' } } }],
  };
  const found = await lab.siem.findTelemetry({
    host: 'WIN10-LAB-01',
    marker,
    bindings: { marker },
    processWindow: window,
    ...window,
    signals: [probe],
  });
  return (found.get('cmstp-exec') ?? []).map((e) => ({
    time: e.time,
    commandLine: String(e.fields.CommandLine),
  }));
}

for (const name of ['cmstp-profile-install-registry', 'cmstp-all-users-au']) {
  test(`${name}: clean-up uninstalls the registered profile with cmstp /s /u, and its events are never evidence`, async (t) => {
    const lab = await startTestLab();
    t.teardown(() => lab.close());

    const run = await runOnLab({
      scenarios: loadScenariosOrThrow([scenarioFile(name)]),
      hosts: [lab.host],
      siem: lab.siem,
    });

    const [result] = run.results;
    const cleanup = result?.execution?.cleanup;
    t.is(run.status, 'passed');
    t.like(cleanup, { ran: true, verified: true, uninstall: { exitCode: 0, timedOut: false } });
    t.true(cleanup?.removed.some((item) => item.startsWith('profile:')));
    const cutoff = Date.parse(cleanup?.startedAt ?? '');
    t.true(Number.isFinite(cutoff));

    // The uninstall reached the SIEM, naming the marker like the run's own cmstp did...
    const starts = await cmstpStarts(lab, result?.marker ?? '');
    const uninstall = starts.filter((s) => /\s\/u\s/i.test(s.commandLine));
    t.is(uninstall.length, 1, JSON.stringify(starts));
    t.true(Date.parse(uninstall[0]?.time ?? '') >= cutoff);
    // ...yet no signal's evidence comes from clean-up.
    const evidence = result?.signals.flatMap((s) => s.observed.events) ?? [];
    t.true(evidence.length > 0);
    for (const event of evidence) t.true(Date.parse(event.time) < cutoff, `${event.ref} at ${event.time}`);
    t.false(evidence.some((e) => /\s\/u\s/i.test(e.summary.CommandLine ?? '')));
  });
}

test('a run that registers no profile is not uninstalled: cmstp runs once', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  const run = await runOnLab({
    scenarios: loadScenariosOrThrow([scenarioFile('cmstp-local-inf-presetup')]),
    hosts: [lab.host],
    siem: lab.siem,
  });

  const [result] = run.results;
  t.is(run.status, 'passed');
  t.is(result?.execution?.cleanup.uninstall, null);
  t.is((await cmstpStarts(lab, result?.marker ?? '')).length, 1);
});
