import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecord, type RunResult } from '../../src/core/index.js';
import { Manifest } from '../../src/report/manifest.js';
import { verifyBundle } from '../../src/report/verify.js';
import { quickScenarios, runCli } from '../helpers/cli.js';

/* One plan run whole, and the same plan as two shards (two CI jobs with their own reports folders). */
const root = mkdtempSync(join(tmpdir(), 'purple-harness-shard-'));
const scenarios = join(root, 'scenarios');
const dir = (name: string) => join(root, name);
const codes: Record<string, number> = {};

test.before(async () => {
  mkdirSync(scenarios);
  quickScenarios(scenarios, [
    'cmstp-local-inf-presetup.yaml',
    'cmstp-all-users-au.yaml',
    'cmstp-nonstandard-extension.yaml',
    'cmstp-profile-install-registry.yaml',
  ]);
  // A signal dropped everywhere, so the verdicts to compare hold fails as well as passes.
  const drop = ['--lab-drop', 'profile-registry'];
  const runs = [
    ['whole', []],
    ['shard-1', ['--shard', '1/2']],
    ['shard-2', ['--shard', '2/2']],
  ] as const;
  await Promise.all(
    runs.map(async ([name, extra]) => {
      const result = await runCli(['run', scenarios, '--reports-dir', dir(name), ...drop, ...extra], {
        cwd: root,
      });
      codes[name] = result.exitCode;
      if (![0, 1].includes(result.exitCode))
        throw new Error(`${name}: exit ${String(result.exitCode)}\n${result.stderr}`);
    }),
  );
});
test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
});

const runIn = (reports: string): RunResult =>
  RunRecord.parse(JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')));
const pairs = (run: RunResult) => run.results.map((r) => `${r.scenario.id}@${r.host.name}`);
const verdicts = (run: RunResult) =>
  Object.fromEntries(
    run.results.flatMap((r) => r.signals.map((s) => [`${r.scenario.id}@${r.host.name}/${s.id}`, s.verdict])),
  );

test('the shards together make the whole plan, with no overlap', (t) => {
  const [one, two, whole] = [runIn(dir('shard-1')), runIn(dir('shard-2')), runIn(dir('whole'))];

  t.deepEqual(one.shard, { index: 1, count: 2 });
  t.is(pairs(one).length, 2);
  t.is(pairs(two).length, 2);
  t.deepEqual(
    pairs(one).filter((p) => pairs(two).includes(p)),
    [],
  );
  t.deepEqual([...pairs(one), ...pairs(two)].sort(), [...pairs(whole)].sort());
});

test('report merge gives the verdicts of the unsharded run, in one verified bundle with a manifest of manifests', async (t) => {
  const [one, two, whole] = [runIn(dir('shard-1')), runIn(dir('shard-2')), runIn(dir('whole'))];

  const result = await runCli(
    [
      'report',
      'merge',
      join(dir('shard-1'), 'latest'),
      join(dir('shard-2'), 'latest'),
      '--reports-dir',
      dir('merged'),
    ],
    { cwd: root },
  );

  t.is(result.exitCode, codes.whole ?? -1, result.stderr);
  const merged = runIn(dir('merged'));
  t.deepEqual(verdicts(merged), verdicts(whole));
  t.deepEqual(merged.mergedFrom, [one.runId, two.runId]);
  t.is(merged.status, whole.status);
  t.deepEqual(merged.summary.pass, whole.summary.pass);
  t.deepEqual(
    merged.controls.map((c) => c.status),
    whole.controls.map((c) => c.status),
  );
  const runDir = join(dir('merged'), merged.runId);
  const checked = verifyBundle(runDir);
  t.true(checked.ok, checked.problems.join('\n'));
  const manifest = Manifest.parse(JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')));
  for (const part of [one, two]) {
    const listed = manifest.files.find((f) => f.path === `parts/${part.runId}/manifest.json`);
    t.truthy(listed, part.runId);
    // The shard's own manifest, byte for byte: each shard's evidence stays checkable against it.
    t.is(
      readFileSync(join(runDir, 'parts', part.runId, 'manifest.json'), 'utf8'),
      readFileSync(join(dir(part === one ? 'shard-1' : 'shard-2'), part.runId, 'manifest.json'), 'utf8'),
    );
  }
});

test('merge refuses a missing shard, a shard given twice and a tampered shard (exit 2)', async (t) => {
  const merge = (...dirs: string[]) =>
    runCli(['report', 'merge', ...dirs, '--reports-dir', dir('refused')], { cwd: root });
  const one = join(dir('shard-1'), 'latest');

  const missing = await merge(one);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /missing 2\/2/);

  const twice = await merge(one, one);
  t.is(twice.exitCode, 2);

  // A copy of shard 2 with one evidence file changed (the other tests keep reading the original).
  const run = runIn(dir('shard-2'));
  cpSync(dir('shard-2'), dir('shard-2-tampered'), { recursive: true, verbatimSymlinks: true });
  const source = join(dir('shard-2-tampered'), run.runId);
  const evidence = run.results[0]?.evidence[0]?.path ?? '';
  const file = join(source, evidence);
  writeFileSync(file, `${readFileSync(file, 'utf8')} `);
  const tampered = await merge(one, source);
  t.is(tampered.exitCode, 2);
  t.true(tampered.stderr.includes(`${evidence}: changed`), tampered.stderr);
});
