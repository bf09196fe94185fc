import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { countingHost } from '../helpers/counting-host.js';

/*
 * A folder without write permission stops no one running as root (CI does), so as root these tests run the
 * CLI as `nobody` through util-linux's setpriv: the permission bits then bind as they do for any user.
 */
const nobody = 65534;
const asRoot = process.getuid?.() === 0;

/** A temp folder the CLI's user owns. */
function workDir(t: ExecutionContext): string {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tmp'));
  if (asRoot) for (const path of [dir, join(dir, 'tmp')]) chownSync(path, nobody, nobody);
  return dir;
}

function cli(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  const [file, prefix] = asRoot
    ? ['setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', 'node']]
    : ['node', []];
  return execa(file, [...prefix, cliPath, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', TMPDIR: join(cwd, 'tmp'), ...env },
    extendEnv: false,
    reject: false,
    timeout: 90_000,
  });
}

const scenario = join(repoRoot, 'builtin-scenarios', 'cmstp-local-inf-presetup.yaml');

/** Runs the scenario and takes write permission off the reports folder once the scenario is under way. */
async function runBreakingReports(cwd: string, reports: string, args: readonly string[] = []) {
  const run = cli(['run', scenario, '--reports-dir', 'reports', ...args], cwd);
  let broke = false;
  run.stderr.on('data', (chunk: Buffer) => {
    if (!broke && chunk.toString().includes(': running (marker ')) {
      broke = true;
      chmodSync(reports, 0o555);
    }
  });
  const result = await run;
  return { result, broke };
}

test('#18 a reports folder that takes no file stops the run before any host is contacted (exit 2)', async (t) => {
  const cwd = workDir(t);
  const reports = join(cwd, 'reports');
  mkdirSync(reports);
  if (asRoot) chownSync(reports, nobody, nobody);
  chmodSync(reports, 0o555);
  const connections = await countingHost(t, cwd, { file: 'purple-harness.yaml' });

  const result = await cli(['run', scenario, '--reports-dir', 'reports'], cwd, {
    LAB_PASSWORD: 'x'.repeat(12),
  });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, new RegExp(`the reports folder ${reports} cannot be written .*nothing was run`));
  t.regex(result.stderr, /--reports-dir/);
  t.is(connections(), 0);
  t.deepEqual(readdirSync(reports), []);
});

test('#18 a reports folder that fails after the hosts ran: the verdicts are printed and the bundle goes to the fallback folder, which verify accepts', async (t) => {
  const cwd = workDir(t);
  const reports = join(cwd, 'reports');
  mkdirSync(reports);
  if (asRoot) chownSync(reports, nobody, nobody);

  // The folder passed the check before the run; it fails once the scenario is under way.
  const { result, broke } = await runBreakingReports(cwd, reports);

  t.true(broke, result.stderr);
  t.is(
    result.exitCode,
    3,
    `a passing run whose reports missed their folder is an infrastructure failure\n${result.stderr}`,
  );
  t.regex(result.stdout, /^PASSED +cmstp-local-inf-presetup on WIN10-LAB-01$/m);
  t.regex(result.stdout, /^ {2}pass +child-process: /m);
  t.regex(result.stdout, /^run \S+: passed \(3 pass, 0 fail, 0 late, 0 inconclusive\)$/m);
  const fallback = join(cwd, 'tmp', 'purple-harness-reports');
  const runId = /^run (\S+): passed/m.exec(result.stdout)?.[1] ?? '';
  t.regex(
    result.stderr,
    new RegExp(
      `cannot write reports to ${reports}/${runId}: .*; the reports were written to ${fallback}/${runId} instead`,
    ),
  );
  t.regex(result.stdout, new RegExp(`^report: ${fallback}/${runId}/run\\.json$`, 'm'));
  t.false(existsSync(join(reports, runId)));

  const verify = await cli(['verify', join(fallback, runId)], cwd);
  t.is(verify.exitCode, 0, verify.stdout + verify.stderr);
});

test('#18 --json keeps the verdicts and says where the reports went when their folder fails', async (t) => {
  const cwd = workDir(t);
  const reports = join(cwd, 'reports');
  mkdirSync(reports);
  if (asRoot) chownSync(reports, nobody, nobody);

  const { result } = await runBreakingReports(cwd, reports, ['--json']);

  t.is(result.exitCode, 3, result.stderr);
  const json = JSON.parse(result.stdout) as {
    status: string;
    exitCode: number;
    reportDir: string;
    reportProblem: string;
    scenarios: { signals: { verdict: string }[] }[];
  };
  t.is(json.status, 'passed');
  t.is(json.exitCode, 3);
  t.true(json.reportDir.startsWith(join(cwd, 'tmp', 'purple-harness-reports')));
  t.regex(json.reportProblem, /cannot write reports to/);
  t.deepEqual(
    json.scenarios[0]?.signals.map((s) => s.verdict),
    ['pass', 'pass', 'pass'],
  );
});
