import test from 'ava';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startLabSimulator } from '../../src/lab/simulator.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { hostOf, runOnLab, startBridgeSiem } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';

test("a run through a command plug-in: the bridge's SIEM gets the lab's events; captured everywhere, detected only where its rule fires", async (t) => {
  // The bridge's "SIEM": a HEC receiver that stores flat events where the fixture plug-in reads them.
  const { siem, hec } = await startBridgeSiem(t, join(tempDir(t), 'events.jsonl'));
  const password = randomBytes(12).toString('hex');
  const lab = await startLabSimulator({ password, hec });
  t.teardown(() => lab.close());
  const scenarios = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]).map(
    (s) => ({
      ...s,
      spec: { ...s.spec, timeouts: { ...s.spec.timeouts, capture: 3000, detect: 2000 } },
    }),
  );

  const run = await runOnLab({ scenarios, hosts: [hostOf(lab, password)], siem });

  const signals = run.results[0]?.signals ?? [];
  const verdicts = Object.fromEntries(signals.map((s) => [s.id, s.verdict]));
  // The bridge's only rule alerts on cmstp.exe starts: that signal is detected, and the others are honestly
  // reported as captured but not detected.
  t.deepEqual(verdicts, { 'payload-file': 'fail', 'cmstp-exec': 'pass', 'child-process': 'fail' });
  t.true(
    signals.find((s) => s.id === 'cmstp-exec')?.observed.alerts.some((a) => a.ruleId === 'bridge-cmstp'),
  );
  t.regex(signals.find((s) => s.id === 'child-process')?.reason ?? '', /captured 2 .*; not detected/);
  t.is(run.status, 'failed');
});
