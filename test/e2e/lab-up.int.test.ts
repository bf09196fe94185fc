import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quickScenarios, runCli, startLabUp } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('lab up serves the embedded lab until stopped; a run against it passes and says SIMULATED', async (t) => {
  const cwd = tempDir(t);
  const { lab, config: configFile } = startLabUp(t, cwd);
  const config = await configFile;
  const env = readFileSync(join(cwd, '.env'), 'utf8');
  const password = /^PURPLE_HARNESS_LAB_PASSWORD=(.+)$/m.exec(env)?.[1] ?? '';
  t.true(password.length > 10);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const run = await runCli(['run', scenario ?? '', '--config', config, '--reports-dir', 'reports'], { cwd });

  t.is(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /SIMULATED LAB/);
  t.regex(run.stdout, /^PASSED +cmstp-local-inf-presetup on WIN10-LAB-01$/m);
  const record = JSON.parse(readFileSync(join(cwd, 'reports', 'latest', 'run.json'), 'utf8')) as {
    lab: string;
  };
  t.is(record.lab, 'simulated');
  lab.kill('SIGTERM');
  const stopped = await lab;
  t.is(stopped.exitCode, 0);
  t.regex(stopped.stdout, /lab stopped/);
  t.false(stopped.stdout.includes(password), 'the lab password is never printed');
});
