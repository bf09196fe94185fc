import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunIndexRecord, RunRecord } from '../../src/core/index.js';
import { quickScenarios, runCli, type CliResult } from '../helpers/cli.js';

/* Two runs into one reports folder; the second drops a signal that passed in the first: a regression. */
const root = mkdtempSync(join(tmpdir(), 'purple-harness-history-'));
const reports = join(root, 'reports');
const scenarios = join(root, 'scenarios');
let second: CliResult;

test.before(async () => {
  mkdirSync(scenarios);
  quickScenarios(scenarios, ['cmstp-local-inf-presetup.yaml', 'cmstp-all-users-au.yaml']);
  const first = await runCli(['run', scenarios, '--reports-dir', reports], { cwd: root });
  if (first.exitCode !== 0) throw new Error(`first run: exit ${String(first.exitCode)}\n${first.stderr}`);
  second = await runCli(['run', scenarios, '--reports-dir', reports, '--lab-drop', 'child-process'], {
    cwd: root,
  });
});
test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
});

const latestRun = () =>
  RunRecord.parse(JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')));

test('a regression (passed before, fails now) exits 4 and is flagged in run.json and the reports', (t) => {
  t.is(second.exitCode, 4, second.stderr);
  t.regex(
    second.stdout,
    /^REGRESSION +child-process in cmstp-local-inf-presetup on WIN10-LAB-01: passed in run \S+, fails now$/m,
  );
  const run = latestRun();
  t.deepEqual(run.regressions.map((r) => `${r.scenario}/${r.signal}`).sort(), [
    'cmstp-all-users-au/child-process',
    'cmstp-local-inf-presetup/child-process',
  ]);
  t.is(run.status, 'failed');
  t.regex(readFileSync(join(reports, 'latest', 'report.md'), 'utf8'), /## REGRESSIONS/);
  t.regex(readFileSync(join(reports, 'latest', 'report.html'), 'utf8'), /<section id="regressions">/);
});

test('the run index lists both runs, and the dashboard is regenerated with them', (t) => {
  const index = RunIndexRecord.parse(JSON.parse(readFileSync(join(reports, 'index.json'), 'utf8')));

  t.is(index.runs.length, 2);
  t.deepEqual(
    index.runs.map((r) => r.regressions.length),
    [0, 2],
  );
  const html = readFileSync(join(reports, 'index.html'), 'utf8');
  for (const run of index.runs) t.true(html.includes(`href="${run.runId}/report.html"`), run.runId);
  t.regex(html, /2 signal\(s\) passed before and fail now/);
});

test('history shows each signal over time with its pass rate and latency trend', async (t) => {
  const result = await runCli(
    ['history', '--reports-dir', reports, '--scenario', 'cmstp-local-inf-presetup'],
    { cwd: root },
  );

  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /^ {2}child-process +2 +50 % +P F +alert /m);
  t.regex(result.stdout, /^ {2}cmstp-exec +2 +100 % +P P +alert \d+\.\d s → \d+\.\d s \(mean \d+\.\d s\)/m);
  t.notRegex(result.stdout, /cmstp-all-users-au on/);
  const json = await runCli(['history', '--reports-dir', reports, '--json', '--signal', 'child-process'], {
    cwd: root,
  });
  const parsed = JSON.parse(json.stdout) as { rows: { passRate: number }[] };
  t.deepEqual(
    parsed.rows.map((r) => r.passRate),
    [0.5, 0.5],
  );
});

test('report re-renders every format from run.json alone, byte for byte as the run wrote them', async (t) => {
  const run = latestRun();
  const out = join(root, 'rerendered');

  const result = await runCli(['report', join(reports, run.runId), '--out', out], { cwd: root });

  t.is(result.exitCode, 0, result.stderr);
  const files = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  t.true(files.length >= 6);
  for (const entry of files) {
    const relative = join(entry.parentPath, entry.name).slice(out.length + 1);
    t.is(
      readFileSync(join(out, relative), 'utf8'),
      readFileSync(join(reports, run.runId, relative), 'utf8'),
      relative,
    );
  }
});

test('an unreadable run index stops the next run before it starts (exit 2), naming the file', async (t) => {
  const other = join(root, 'broken-reports');
  mkdirSync(other);
  writeFileSync(join(other, 'index.json'), '{"indexVersion": 1, "runs": [{"runId": 7}]}');

  const result = await runCli(['run', scenarios, '--reports-dir', other], { cwd: root });

  t.is(result.exitCode, 2);
  t.true(result.stderr.includes(`${join(other, 'index.json')} is not a purple-harness run index`));
  t.deepEqual(readdirSync(other), ['index.json']);
});
