import test from 'ava';
import { execa } from 'execa';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/cli.js';
import { sampleRun } from '../../test/contracts/reporter.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { RunIndexRecord } from '../core/index.js';
import { indexEntry } from './history.js';
import { updateRunIndex } from './write.js';

test('three processes adding runs to one index at the same time keep every entry', async (t) => {
  const dir = tempDir(t);
  const writer = join(repoRoot, 'dist', 'test', 'fixtures', 'index-writer.js');

  await Promise.all(['a', 'b', 'c'].map((prefix) => execa('node', [writer, dir, prefix, '60'])));

  const index = RunIndexRecord.parse(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')));
  t.is(index.runs.length, 180);
  t.is(readFileSync(join(dir, 'index.html'), 'utf8'), '<p>180 runs</p>');
});

test('a lock left behind by a killed run is taken over once stale', (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'index.lock');
  writeFileSync(lock, '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);

  updateRunIndex(dir, indexEntry(sampleRun(), { manifestSha256: null, report: null }), () => '');

  t.is(RunIndexRecord.parse(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))).runs.length, 1);
});
