import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultTuning, RunRecord, type Tuning } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `tuning plan` in `cwd`, its scenarios given 3 s capture and detect deadlines (as quickScenarios does): a case
 * whose activity must not be tied to the run is judged only once the deadline has passed.
 */
async function makePlan(cwd: string, args: readonly string[] = []) {
  const result = await runCli(['tuning', 'plan', '--out', 'plan', ...args], { cwd });
  if (result.exitCode === 0)
    for (const name of readdirSync(join(cwd, 'plan')).filter((n) => n.endsWith('.yaml'))) {
      const text = readFileSync(join(cwd, 'plan', name), 'utf8');
      writeFileSync(
        join(cwd, 'plan', name),
        text.replace(/^timeouts:\n/m, 'timeouts:\n  capture: 3s\n  detect: 3s\n'),
      );
    }
  return result;
}

/** Runs the plan in `cwd/plan` on the embedded lab; each scenario's verdict, and the exit code. */
async function runPlan(cwd: string, reports: string, config?: string) {
  const args = [
    'run',
    'plan',
    '--reports-dir',
    reports,
    ...(config === undefined ? [] : ['--config', config]),
  ];
  const result = await runCli(args, { cwd });
  const record = RunRecord.parse(JSON.parse(readFileSync(join(cwd, reports, 'latest', 'run.json'), 'utf8')));
  const verdicts = Object.fromEntries(
    record.results.map((r) => [r.scenario.id, r.signals.map((s) => s.verdict).join(',')]),
  );
  return { exitCode: result.exitCode, stderr: result.stderr, stdout: result.stdout, verdicts };
}

function withTuning(cwd: string, name: string, tuning: Partial<Tuning>): string {
  writeFileSync(join(cwd, `${name}.yaml`), stringify({ ...defaultTuning, ...tuning }));
  writeFileSync(join(cwd, `${name}-harness.yaml`), `tuning: ${name}.yaml\n`);
  return `${name}-harness.yaml`;
}

const allPass = {
  'boundary-com-cmstplua': 'pass',
  'boundary-inf-path-programdata-inf': 'pass',
  'boundary-inf-path-programdata-ini': 'pass',
  'boundary-ip-address': 'pass',
  'boundary-ip-second-address': 'pass',
  'boundary-registry-all-users': 'pass',
  'boundary-registry-per-user': 'pass',
  'boundary-time-window-after': 'pass',
  'boundary-time-window-inside': 'pass',
};

// #21 acceptance: the default tuning's boundary pairs pass on the embedded lab, and one allowlist entry added
// to the tuning flips exactly the case that crosses it; the plan made again under the new tuning passes.
test('#21 tuning plan: the boundary pairs pass on the embedded lab; one registry allowlist entry flips exactly the per-user case (a regression naming the tuning change); planned again under it, all pass', async (t) => {
  const cwd = tempDir(t);
  const planned = await makePlan(cwd);
  t.is(planned.exitCode, 0, planned.stderr);
  t.deepEqual(readdirSync(join(cwd, 'plan')).sort(), [
    'boundaries.json',
    ...Object.keys(allPass).map((id) => `${id}.yaml`),
  ]);
  t.regex(planned.stdout, /NOT YET {6}COMInterfaceGUIDs/);

  const before = await runPlan(cwd, 'reports');
  t.is(before.exitCode, 0, before.stdout);
  t.deepEqual(before.verdicts, allPass);

  const perUser = 'HKU\\*\\Software\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE*';
  const config = withTuning(cwd, 'vpn', { registryKeyAllowlist: [perUser] });
  const after = await runPlan(cwd, 'reports', config);
  t.deepEqual(after.verdicts, { ...allPass, 'boundary-registry-per-user': 'fail' });
  t.is(after.exitCode, 4, after.stdout);
  // A let-through case names the rule that must stay quiet: it is no negative control, so nothing is proven
  // quiet on legitimate use by it and no rule is suggested.
  t.regex(after.stdout, /NO RULE +profile-registry in boundary-registry-per-user .*no negative control ran/);
  t.regex(
    after.stdout,
    /REGRESSION {3}profile-registry in boundary-registry-per-user .*the tuning changed since: default then, custom/,
  );

  // The report's tuning section says which case the change moved, and under which tunings.
  const report = readFileSync(join(cwd, 'reports', 'latest', 'report.md'), 'utf8');
  t.regex(report, /Planned under tuning default; this run's rules read tuning custom, sha256 [0-9a-f]{12}/);
  t.regex(
    report,
    /- \*\*RegistryKeyAllowlist\*\*: lets through none of its cases; flags an all-users install's App Paths key \(HKLM\); NOT PROVEN: a per-user/,
  );
  t.notRegex(report, /No case in this run for/);

  const replanned = await runCli(['tuning', 'plan', '--config', config, '--out', 'plan'], { cwd });
  t.is(replanned.exitCode, 2, 'a plan is not overwritten without --force');
  t.regex(replanned.stderr, /already exist/);
  const forced = await makePlan(cwd, ['--config', config, '--force']);
  t.is(forced.exitCode, 0, forced.stderr);
  t.regex(forced.stdout, /let through +boundary-registry-per-user/);
  const again = await runPlan(cwd, 'reports-replanned', config);
  t.is(again.exitCode, 0, again.stdout);
  t.deepEqual(again.verdicts, allPass);
});

test('#21 tuning plan: a path regex that takes in .ini flips exactly the .ini case (our rule now fires where the plan expected none)', async (t) => {
  const cwd = tempDir(t);
  t.is((await makePlan(cwd)).exitCode, 0);
  const config = withTuning(cwd, 'ini', { infPathRegex: '(?i)\\\\(ProgramData|Users|Temp)\\\\.*\\.in[fi]$' });
  const after = await runPlan(cwd, 'reports', config);
  t.deepEqual(after.verdicts, { ...allPass, 'boundary-inf-path-programdata-ini': 'fail' });
  t.is(after.exitCode, 1, after.stdout);
  t.regex(after.stdout, /false positive: Setup information file written to a user-writable folder fired/);
});

test('#21 tuning plan: a TimeWindow of 4s flips exactly the case whose COM elevation comes 3s after cmstp: it is now tied to the run', async (t) => {
  const cwd = tempDir(t);
  t.is((await makePlan(cwd)).exitCode, 0);
  const after = await runPlan(cwd, 'reports', withTuning(cwd, 'window', { timeWindow: '4s' }));
  t.deepEqual(after.verdicts, { ...allPass, 'boundary-time-window-after': 'fail' });
  t.is(after.exitCode, 1, after.stdout);
  t.regex(
    after.stdout,
    /com-elevation: captured \d+ event\(s\), but the scenario expects this telemetry to be absent/,
  );
});

test("#21 tuning plan: an IP allowlist entry for the payload server's second address flips exactly the case that fetches from it", async (t) => {
  const cwd = tempDir(t);
  t.is((await makePlan(cwd)).exitCode, 0);
  const after = await runPlan(
    cwd,
    'reports',
    withTuning(cwd, 'ip', { externalIpAllowlist: ['127.0.0.2/32'] }),
  );
  t.deepEqual(after.verdicts, { ...allPass, 'boundary-ip-second-address': 'fail' });
  t.is(after.exitCode, 1, after.stdout);
  t.regex(after.stdout, /remote-fetch: captured 1 .*not detected: rule 7f1c2a9e-[0-9a-f-]+ did not fire/);
});

test('#21 tuning plan: a COM list without CMSTPLUA flips exactly the case whose elevated child comes from its surrogate', async (t) => {
  const cwd = tempDir(t);
  t.is((await makePlan(cwd)).exitCode, 0);
  const config = withTuning(cwd, 'com', { comInterfaceGuids: ['{3E000D72-A845-4CD9-BD83-80C07C3B881F}'] });
  const after = await runPlan(cwd, 'reports', config);
  t.deepEqual(after.verdicts, { ...allPass, 'boundary-com-cmstplua': 'fail' });
  t.is(after.exitCode, 1, after.stdout);
});

test('#21 tuning plan refuses a SIEM whose rules are not ours, before writing anything (exit 2)', async (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'splunk.yaml'),
    'siem:\n  type: splunk\n  url: https://127.0.0.1:8089\n  tokenEnv: SPLUNK_TOKEN\n',
  );
  const result = await runCli(['tuning', 'plan', '--config', 'splunk.yaml', '--out', 'plan'], { cwd });
  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, /only the local SIEM runs; the configured SIEM is splunk/);
  t.deepEqual(readdirSync(cwd).sort(), ['splunk.yaml']);
});
