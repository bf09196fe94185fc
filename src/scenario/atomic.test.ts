import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../../test/helpers/cli.js';
import { AtomicFile, droppedParts, importAtomic } from './atomic.js';

const fixture = AtomicFile.parse(
  YAML.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'atomic-t1218-003.yaml'), 'utf8')),
);

test('each atomic test maps to the built-in of its shape, keeping its cmstp flags; the rest are skipped with a reason', (t) => {
  const imported = importAtomic(fixture);

  t.deepEqual(
    imported.map((i) => (i.kind === 'scenario' ? [i.id, i.from, i.flags.join(' ')] : [i.kind, i.reason])),
    [
      ['art-t1218-003-1-cmstp-runs-a-remote-scriptlet', 'art-t1218-003-1-remote-scriptlet', '/s'],
      ['art-t1218-003-2-cmstp-bypasses-uac', 'art-t1218-003-2-uac-bypass', '/s /au'],
      ['skipped', 'not a Windows test (linux)'],
      ['skipped', 'its command does not run cmstp.exe'],
    ],
  );
});

test('what the original fetched from the internet is named in the scenario, which fetches nothing', (t) => {
  const [first, second] = importAtomic(fixture);

  t.deepEqual(first?.kind === 'scenario' ? first.internet : null, [
    'https://example.invalid/atomics/T1218.003/src/T1218.003.inf',
  ]);
  t.regex(
    first?.kind === 'scenario' ? first.description : '',
    /The original fetched https:\/\/example\.invalid\/\S+ from the internet; this scenario fetches nothing/,
  );
  t.deepEqual(second?.kind === 'scenario' ? second.internet : null, []);
  t.deepEqual(second?.kind === 'scenario' ? second.dropped : null, [
    '"notepad.exe" (a command besides cmstp: not emulated)',
  ]);
  t.regex(
    second?.kind === 'scenario' ? second.description : '',
    /Not kept from the original command: "notepad\.exe" \(a command besides cmstp: not emulated\)\.$/,
  );
});

test('#18 every part of a command the scenario does not keep is named, with why', (t) => {
  t.deepEqual(droppedParts('cmstp.exe /s C:\\x\\T1218.003.inf'), []);
  t.deepEqual(droppedParts('cmstp.exe /s "C:\\a b\\x.inf" /au'), []);
  t.deepEqual(droppedParts('cmstp.exe /s C:\\x.inf && notepad.exe'), [
    '"notepad.exe" (a command besides cmstp: not emulated)',
  ]);
  t.deepEqual(droppedParts('cmd /c start cmstp.exe /s /x C:\\x.inf extra; whoami\nipconfig'), [
    '"cmd /c start" (what starts cmstp: the harness starts it itself)',
    '"/x" (a cmstp flag the harness does not emulate)',
    '"extra" (a further cmstp argument)',
    '"whoami" (a command besides cmstp: not emulated)',
    '"ipconfig" (a command besides cmstp: not emulated)',
  ]);
});
