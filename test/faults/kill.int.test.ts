import test from 'ava';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulatorInventoryYaml, startLabSimulator } from '../../src/lab/simulator.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import { siemConnectors } from '../../src/siem/registry.js';
import { cliPath, quickScenarios, runCli } from '../helpers/cli.js';
import { pluginContext } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';

/*
 * kill -9 in the middle of a run: no clean-up, no reports can happen in the killed process. What must hold:
 * nothing claims a pass, the host is recoverable with `cleanup --marker`, and its lock is released so the
 * next run goes ahead. The lab host lives outside the killed process (as a real one would).
 */
test('kill -9 mid-run: nothing passes, the host is refused as busy, and cleanup --marker recovers it and releases its lock', async (t) => {
  const cwd = tempDir(t);
  const database = join(cwd, 'siem.sqlite');
  const token = randomBytes(12).toString('hex');
  const siem = await (
    await siemConnectors.local.load()
  ).create(LocalSiemOptions.parse({ database }), pluginContext({ PURPLE_HARNESS_HEC_TOKEN: token }));
  const endpoint = siem.ingestEndpoint();
  if (endpoint === null) throw new Error('no HEC');
  const password = randomBytes(12).toString('hex');
  // cmstp hangs on this host, so the run is still executing when it is killed.
  const lab = await startLabSimulator({ password, sink: endpoint, hangOperations: ['run-cmstp'] });
  t.teardown(async () => {
    await lab.close();
    await siem.dispose();
  });
  writeFileSync(
    join(cwd, 'purple-harness.config.yaml'),
    [
      ...simulatorInventoryYaml(lab, { passwordEnv: 'LAB_PASSWORD' }),
      'siem:',
      '  type: local',
      `  database: ${database}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(cwd, '.env'), `LAB_PASSWORD=${password}\nPURPLE_HARNESS_HEC_TOKEN=${token}\n`);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const child = execa('node', [cliPath, 'run', scenario ?? '', '--reports-dir', 'reports'], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    extendEnv: false,
    reject: false,
  });
  const marker = await new Promise<string>((resolve) => {
    let seen = '';
    child.stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const found = /running \(marker (ph[a-z0-9]+)\)/.exec(seen)?.[1];
      // Give the run time to stage its payload and start the (hanging) cmstp step.
      if (found !== undefined)
        setTimeout(() => {
          resolve(found);
        }, 1500);
    });
  });
  child.kill('SIGKILL');
  const killed = await child;
  t.is(killed.signal, 'SIGKILL');

  // Nothing was written, so nothing claims a pass; the host still has the run's folder and its lock.
  t.false(existsSync(join(cwd, 'reports')) && readdirSync(join(cwd, 'reports')).length > 0);
  t.true(lab.host.drive.exists(`C:\\ProgramData\\purple-harness\\runs\\${marker}`));
  const busy = await runCli(['run', scenario ?? '', '--reports-dir', 'reports'], { cwd });
  t.is(busy.exitCode, 3, busy.stdout);
  t.regex(`${busy.stdout}\n${busy.stderr}`, /busy|lock/i);

  const cleaned = await runCli(['cleanup', '--marker', marker], { cwd });
  t.is(cleaned.exitCode, 0, `${cleaned.stdout}\n${cleaned.stderr}`);
  t.regex(cleaned.stdout, /released the host lock/);
  t.false(lab.host.drive.exists(`C:\\ProgramData\\purple-harness\\runs\\${marker}`));
});
