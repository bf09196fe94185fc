import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('import-atomic writes valid scenarios that run on the embedded lab', async (t) => {
  const cwd = tempDir(t);

  const imported = await runCli(
    ['import-atomic', join(repoRoot, 'test', 'fixtures', 'atomic-t1218-003.yaml')],
    { cwd },
  );

  t.is(imported.exitCode, 0, imported.stderr);
  t.regex(
    imported.stdout,
    /^wrote .*art-t1218-003-2-cmstp-bypasses-uac\.yaml \(#2 CMSTP bypasses UAC; from art-t1218-003-2-uac-bypass, cmstp \/s \/au\)$/m,
  );
  t.regex(
    imported.stdout,
    /^ {2}the original fetched https:\/\/example\.invalid\/\S+; the scenario fetches nothing$/m,
  );
  t.regex(imported.stdout, /^skipped #3 Not for this platform: not a Windows test \(linux\)$/m);
  // #18: what the import left out of a command is said, never dropped silently.
  t.regex(
    imported.stdout,
    /^ {2}not kept from the original command: "notepad\.exe" \(a command besides cmstp: not emulated\)$/m,
  );
  const validated = await runCli(['validate', 'scenarios'], { cwd });
  t.is(validated.exitCode, 0, validated.stderr);
  const written = YAML.parse(
    readFileSync(join(cwd, 'scenarios', 'art-t1218-003-1-cmstp-runs-a-remote-scriptlet.yaml'), 'utf8'),
  ) as { description: string };
  t.regex(written.description, /this scenario fetches nothing/);

  const again = await runCli(['import-atomic', join(repoRoot, 'test', 'fixtures', 'atomic-t1218-003.yaml')], {
    cwd,
  });
  t.is(again.exitCode, 2, 'never overwrites without --force');

  // Short deadlines so the test does not wait out the local SIEM's defaults.
  const file = join(cwd, 'scenarios', 'art-t1218-003-2-cmstp-bypasses-uac.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(/^timeouts:\n/m, 'timeouts:\n  capture: 3s\n  detect: 3s\n'),
  );
  const ran = await runCli(['run', 'scenarios', '--reports-dir', 'reports'], { cwd });
  t.is(ran.exitCode, 0, ran.stdout);
  t.regex(ran.stdout, /^PASSED +art-t1218-003-1-cmstp-runs-a-remote-scriptlet on WIN10-LAB-01$/m);
  t.regex(ran.stdout, /^PASSED +art-t1218-003-2-cmstp-bypasses-uac on WIN10-LAB-01$/m);
});

test('a file for another technique, or not in the format, is refused with exit 2', async (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'other.yaml'), 'attack_technique: T1003.001\natomic_tests: []\n');
  writeFileSync(join(cwd, 'junk.yaml'), 'hello: world\n');

  const other = await runCli(['import-atomic', 'other.yaml'], { cwd });
  const junk = await runCli(['import-atomic', 'junk.yaml'], { cwd });

  t.is(other.exitCode, 2);
  t.regex(other.stderr, /T1003\.001 tests cannot be imported/);
  t.is(junk.exitCode, 2);
  t.regex(junk.stderr, /junk\.yaml: not an Atomic Red Team test file/);
});
