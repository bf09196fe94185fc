import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CmstpKnobs } from '../../src/lab/windows-host.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { runOnLab, startTestLab } from '../helpers/lab.js';
import { labTargets } from '../helpers/pwsh.js';
import { tempDir } from '../helpers/tmp.js';

/*
 * #15: what cmstp does that nobody has observed on every Windows build (an install that never exits, one that
 * returns non-zero, a `/u` that fails) gives a clear execution status and evidence, never a wrong verdict. On
 * the script-executing target the run-cmstp template's own wait and kill are what is tested.
 */

const targets = labTargets(test, 'cmstp behaviours');

/** A built-in scenario whose cmstp gets 4 s before it is killed. */
function quick(dir: string, name: string) {
  const text = readFileSync(join(builtinScenariosDir(), `${name}.yaml`), 'utf8');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text.replace(/^ {2}execute: 2m$/m, '  execute: 4s'));
  const [scenario] = loadScenariosOrThrow([file]);
  if (scenario === undefined) throw new Error(`no ${name}`);
  return scenario;
}

async function runWith(options: object, knobs: CmstpKnobs, scenario: ReturnType<typeof quick>) {
  const lab = await startTestLab({ ...options, cmstp: knobs });
  try {
    const run = await runOnLab({ scenarios: [scenario], hosts: [lab.host], siem: lab.siem });
    const left = lab.lab.host.processes
      .running()
      .filter((p) => p.commandLine.includes(run.results[0]?.marker ?? '-'));
    return { run, result: run.results[0], left };
  } finally {
    await lab.close();
  }
}

for (const target of targets) {
  test(`#15 ${target.name}: a cmstp that never exits after its payload ran is killed, said so, and judged on what it did`, async (t) => {
    const { run, result, left } = await runWith(
      target.options,
      { hang: true },
      quick(tempDir(t), 'cmstp-local-inf-presetup'),
    );
    t.is(result?.execution?.status, 'executed');
    t.like(result?.execution?.cmstp, { timedOut: true, exitCode: null });
    t.regex(result?.execution?.reason ?? '', /marker file; cmstp\.exe did not exit on its own .* was killed/);
    // The payload did run: its signals stand, and nothing of the run is left running.
    t.is(run.status, 'passed', JSON.stringify(result?.signals.map((s) => [s.id, s.verdict, s.reason])));
    t.true(result?.execution?.cleanup.verified);
    t.deepEqual(left, []);
  });

  test(`#15 ${target.name}: a negative control whose cmstp returns non-zero is a failed execution, never a pass`, async (t) => {
    const { run, result } = await runWith(
      target.options,
      { installExitCode: 1 },
      quick(tempDir(t), 'cmstp-negative-control-admin-install'),
    );
    t.is(result?.execution?.status, 'failed');
    t.is(result?.execution?.reason, 'cmstp.exe exited with 1');
    t.not(run.status, 'passed');
  });

  test(`#15 ${target.name}: a negative control whose cmstp never exits is a failed execution that says it was killed`, async (t) => {
    const { run, result } = await runWith(
      target.options,
      { hang: true },
      quick(tempDir(t), 'cmstp-negative-control-admin-install'),
    );
    t.is(result?.execution?.status, 'failed');
    t.regex(result?.execution?.reason ?? '', /^cmstp\.exe did not exit on its own .* was killed$/);
    t.not(run.status, 'passed');
  });

  test(`#15 ${target.name}: a cmstp /s /u that fails leaves clean-up unverified`, async (t) => {
    const { run, result } = await runWith(
      target.options,
      { uninstallExitCode: 1 },
      quick(tempDir(t), 'cmstp-all-users-au'),
    );
    t.false(result?.execution?.cleanup.verified);
    t.true(
      result?.execution?.cleanup.residue.some((r) =>
        /^profile uninstall \(cmstp \/s \/u .*\) exited 1$/.test(r),
      ),
    );
    t.is(result?.status, 'cleanup-failed');
    t.not(run.status, 'passed');
  });
}
