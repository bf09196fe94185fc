import test from 'ava';
import { join } from 'node:path';
import { programDataAces } from '../../src/lab/windows-host.js';
import { workingFolder } from '../../src/render/render.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { runOnLab, startTestLab } from '../helpers/lab.js';
import { labTargets } from '../helpers/pwsh.js';

/*
 * #15: C:\ProgramData\purple-harness holds scripts and payloads that run as an elevated administrator. Every run
 * first makes it administrators-only (and says so), and refuses a folder another account created, before anything
 * is uploaded. Checked on both targets: the script-executing one runs templates/remote/secure-folder.ps1.hbs in
 * PowerShell (icacls and Get-Acl are the model's), the in-process one carries out the same decisions.
 */

const [scenario] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
const standardUser = 'S-1-5-21-3470123407-2231371018-3463402313-1002';
const adminOnly = /^O:S-1-5-21-[0-9-]+G:SYD:PAI\(A;OICI;FA;;;BA\)\(A;OICI;FA;;;SY\)$/;

const targets = labTargets(test, 'working folder');

for (const target of targets) {
  test(`#15 ${target.name}: a run makes the working folder administrators-only before it uploads anything`, async (t) => {
    if (scenario === undefined) throw new Error('no scenario');
    const { lab, host, siem, ...testLab } = await startTestLab(target.options);
    t.teardown(() => testLab.close());
    // As ProgramData hands it down: Users may create files in it.
    lab.host.drive.mkdirp(workingFolder);
    t.regex(lab.host.sddlOf(workingFolder) ?? '', /D:AI.*\(A;CIID;0x116;;;BU\)/);

    const run = await runOnLab({ scenarios: [scenario], hosts: [host], siem });
    t.is(run.status, 'passed');
    const steps = run.results[0]?.execution?.steps.map((s) => s.step) ?? [];
    t.deepEqual(steps.slice(0, 3), ['connect', 'secure-folder', 'lock-host']);
    t.regex(lab.host.sddlOf(workingFolder) ?? '', adminOnly);
    // A second run finds it so, and it stays so.
    const again = await runOnLab({ scenarios: [scenario], hosts: [host], siem });
    t.is(again.status, 'passed');
    t.regex(lab.host.sddlOf(workingFolder) ?? '', adminOnly);
  });

  test(`#15 ${target.name}: a working folder another account created is refused, and nothing is staged`, async (t) => {
    if (scenario === undefined) throw new Error('no scenario');
    const { lab, host, siem, ...testLab } = await startTestLab(target.options);
    t.teardown(() => testLab.close());
    // A standard user got there first: they own it, and CREATOR OWNER gives them full control of it.
    lab.host.drive.mkdirp(workingFolder);
    lab.host.setSecurity(workingFolder, {
      owner: standardUser,
      protected: false,
      aces: [...programDataAces, `(A;OICIID;FA;;;${standardUser})`],
    });
    const before = lab.host.sddlOf(workingFolder);

    const run = await runOnLab({ scenarios: [scenario], hosts: [host], siem });
    const result = run.results[0];
    t.is(result?.execution?.status, 'error');
    t.regex(
      result?.execution?.reason ?? '',
      /secure-folder: .*purple-harness is owned by S-1-5-21-[0-9-]+-1002, not by an administrator/,
    );
    t.deepEqual(
      result?.execution?.steps.map((s) => `${s.step} ${String(s.ok)}`),
      ['connect true', 'secure-folder false'],
    );
    t.is(result?.execution?.progress.staged, false);
    t.not(run.status, 'passed');
    // The folder is left as found (it is the user's to check), and no run folder was made in it.
    t.is(lab.host.sddlOf(workingFolder), before);
    t.false(lab.host.drive.exists(`${workingFolder}\\runs`));
  });
}
