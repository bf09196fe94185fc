import test from 'ava';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startLabSimulator } from '../../src/lab/simulator.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { commandSiem } from '../../src/siem/command/index.js';
import { CommandSiemOptions } from '../../src/siem/command/schema.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { repoRoot } from '../helpers/cli.js';
import { startBridgeReceiver } from '../helpers/http-fake.js';
import { hostOf, pluginContext, runOnLab } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';

test("a run through a command plug-in: the bridge's SIEM gets the lab's events; captured everywhere, detected only where its rule fires", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'events.jsonl');
  // The bridge's "SIEM": a HEC receiver that stores flat events where the fixture plug-in reads them.
  const { url, close } = await startBridgeReceiver(file);
  const siem = await commandSiem.create(
    CommandSiemOptions.parse({
      command: [process.execPath, join(repoRoot, 'dist', 'test', 'fixtures', 'siem-command-plugin.js')],
      passEnv: ['FAKE_SIEM_FILE'],
      name: 'jsonl-bridge',
    }),
    pluginContext({ FAKE_SIEM_FILE: file }),
  );
  const password = randomBytes(12).toString('hex');
  const lab = await startLabSimulator({ password, hec: { url, token: 'any-token-0123456789' } });
  t.teardown(async () => {
    await lab.close();
    await close();
  });
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
