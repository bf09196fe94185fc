import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../../test/helpers/cli.js';
import { AtomicFile, importAtomic } from './atomic.js';

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
});
