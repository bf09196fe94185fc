import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultTuning, RunRecord, type SignalId } from '../../src/core/index.js';
import { quickScenarios, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** One run of a built-in scenario on the embedded lab, with `tuning` in the config when given; one signal's result. */
async function runWith(
  t: Parameters<typeof tempDir>[0],
  scenario: string,
  signal: SignalId,
  tuning?: object,
) {
  const cwd = tempDir(t);
  const [file = ''] = quickScenarios(cwd, [scenario]);
  const args = ['run', file, '--reports-dir', 'reports'];
  if (tuning !== undefined) {
    writeFileSync(join(cwd, 'tuning.yaml'), stringify(tuning));
    writeFileSync(join(cwd, 'harness.yaml'), 'tuning: tuning.yaml\n');
    args.push('--config', 'harness.yaml');
  }
  const result = await runCli(args, { cwd });
  const record = RunRecord.parse(
    JSON.parse(readFileSync(join(cwd, 'reports', 'latest', 'run.json'), 'utf8')),
  );
  const found = record.results[0]?.signals.find((s) => s.id === signal);
  return {
    result,
    signal: found,
    alerts: found?.observed.alerts.map((a) => a.title) ?? [],
    siem: record.siem.description,
  };
}

// #21: what a tuning lets through is what the run proves. A team whose VPN client writes every user's App
// Paths\CMMGR32.EXE allowlisted those writes, one entry too far: every per-user profile install is let through.
test("#21 a registry allowlist that takes in every user's App Paths\\CMMGR32.EXE lets the profile install through: profile-registry is captured but not detected, and the run fails (exit 1); with the default tuning it passes", async (t) => {
  const tooFar = ['HKU\\*\\Software\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE*'];
  const [tuned, untuned] = await Promise.all([
    runWith(t, 'cmstp-profile-install-registry.yaml', 'profile-registry', {
      ...defaultTuning,
      registryKeyAllowlist: tooFar,
    }),
    runWith(t, 'cmstp-profile-install-registry.yaml', 'profile-registry'),
  ]);

  t.is(untuned.result.exitCode, 0, untuned.result.stderr);
  t.is(untuned.signal?.verdict, 'pass');
  t.true(untuned.alerts.includes('Connection Manager App Paths key written'));
  t.is(tuned.result.exitCode, 1, tuned.result.stderr);
  t.is(tuned.signal?.verdict, 'fail');
  t.true((tuned.signal?.observed.events.length ?? 0) > 0, 'the registry writes were captured');
  t.deepEqual(tuned.alerts, []);
  // run.json (and the reports) say which tuning the verdicts were reached under.
  t.regex(untuned.siem, /tuning default/);
  t.regex(tuned.siem, /tuning custom, sha256 [0-9a-f]{12}/);
});

// The embedded lab's payload server is on loopback: allowlisting loopback is the team that allowlisted its own
// staging network. The connection rule goes quiet; the DNS rule still sees cmstp resolve the payload host.
test('#21 an IP allowlist that takes in the payload server silences the connection rule only: remote-fetch still passes on the DNS rule', async (t) => {
  const [tuned, untuned] = await Promise.all([
    runWith(t, 'cmstp-remote-scriptlet.yaml', 'remote-fetch', {
      ...defaultTuning,
      externalIpAllowlist: ['127.0.0.0/8', '::1/128'],
    }),
    runWith(t, 'cmstp-remote-scriptlet.yaml', 'remote-fetch'),
  ]);

  t.true(untuned.alerts.includes('cmstp.exe opens a network connection'), untuned.alerts.join(', '));
  t.false(tuned.alerts.includes('cmstp.exe opens a network connection'), tuned.alerts.join(', '));
  t.true(tuned.alerts.includes('cmstp.exe resolves a host name'), tuned.alerts.join(', '));
  t.is(tuned.signal?.verdict, 'pass');
  t.is(tuned.result.exitCode, 0, tuned.result.stderr);
});

test('#21 a tuning file the rules could not read stops the run before any host is touched (exit 2, file:line:col)', async (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'tuning.yaml'),
    stringify({ ...defaultTuning, externalIpAllowlist: ['10.0.0.0/8', '10.20.0/24'] }),
  );
  writeFileSync(join(cwd, 'harness.yaml'), 'tuning: tuning.yaml\n');

  const result = await runCli(['run', '--config', 'harness.yaml', '--reports-dir', 'reports'], { cwd });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, /tuning\.yaml:\d+:\d+: .*cidr value "10\.20\.0\/24"/);
  t.false(existsSync(join(cwd, 'reports')));
});

// #21: the tuning a run's verdicts were reached under is kept in the run index, so a signal that passed under
// one tuning and fails under the next is a regression that names the change.
test('#21 a signal that passed under the default tuning and fails under a new one is a regression that says the tuning changed (exit 4)', async (t) => {
  const cwd = tempDir(t);
  const [file = ''] = quickScenarios(cwd, ['cmstp-profile-install-registry.yaml']);
  const run = () => runCli(['run', file, '--config', 'harness.yaml', '--reports-dir', 'reports'], { cwd });
  const record = () =>
    RunRecord.parse(JSON.parse(readFileSync(join(cwd, 'reports', 'latest', 'run.json'), 'utf8')));
  writeFileSync(join(cwd, 'harness.yaml'), 'siem:\n  type: local\n');

  const first = await run();
  t.is(first.exitCode, 0, first.stderr);
  t.is(record().siem.tuning, 'default');

  writeFileSync(
    join(cwd, 'tuning.yaml'),
    stringify({
      ...defaultTuning,
      registryKeyAllowlist: ['HKU\\*\\Software\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE*'],
    }),
  );
  writeFileSync(join(cwd, 'harness.yaml'), 'tuning: tuning.yaml\n');
  const second = await run();
  t.is(second.exitCode, 4, second.stderr);
  const [regression, ...others] = record().regressions;
  t.deepEqual(others, []);
  t.is(regression?.signal, 'profile-registry');
  t.is(regression?.tuningChanged?.before, 'default');
  t.regex(regression?.tuningChanged?.now ?? '', /^custom, sha256 [0-9a-f]{12}$/);
  t.regex(
    second.stdout,
    /REGRESSION +profile-registry .* the tuning changed since: default then, custom, sha256/,
  );
});

// #21 TimeWindow: how long after cmstp starts its activity is tied to it. The host is left alone that long
// before clean-up, and the window-correlated queries span it.
test('#21 a TimeWindow of 3s holds clean-up until 3 s after cmstp started, and the window the SIEM is asked about spans it', async (t) => {
  const cwd = tempDir(t);
  const [file = ''] = quickScenarios(cwd, ['cmstp-remote-scriptlet.yaml']);
  writeFileSync(join(cwd, 'tuning.yaml'), stringify({ ...defaultTuning, timeWindow: '3s' }));
  writeFileSync(join(cwd, 'harness.yaml'), 'tuning: tuning.yaml\n');

  const result = await runCli(['run', file, '--config', 'harness.yaml', '--reports-dir', 'reports'], { cwd });

  t.is(result.exitCode, 0, result.stderr);
  const folder = join(cwd, 'reports', 'latest');
  const record = RunRecord.parse(JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')));
  const execution = record.results[0]?.execution;
  const started = Date.parse(execution?.cmstp?.startedAt ?? '');
  t.true(Date.parse(execution?.cleanup.startedAt ?? '') - started >= 3000, 'clean-up waited');
  const queries = JSON.parse(
    readFileSync(join(folder, 'evidence', 'cmstp-remote-scriptlet', 'WIN10-LAB-01', 'queries.json'), 'utf8'),
  ) as { plan: { processWindow: { until: string } } };
  t.true(Date.parse(queries.plan.processWindow.until) - started >= 3000, JSON.stringify(queries.plan));
  t.regex(record.siem.description, /tuning custom/);
  t.is(record.timeWindowMs, 3000);
  t.regex(
    readFileSync(join(folder, 'report.html'), 'utf8'),
    /<th>Time window<\/th><td>activity with no marker counts until 3\.0 s after cmstp starts/,
  );
  t.regex(
    readFileSync(join(folder, 'report.md'), 'utf8'),
    /\| Time window \| activity with no marker counts until 3\.0 s after cmstp starts/,
  );
});

test("#21 with a SIEM whose rules are the team's own, a tuning that sets what only our rules read is refused (exit 2); its TimeWindow alone is taken, and plan shows the queries spanning it", async (t) => {
  const cwd = tempDir(t);
  const siem =
    'siem:\n  type: splunk\n  url: https://127.0.0.1:9\n  tokenEnv: SPLUNK_TOKEN\ntuning: tuning.yaml\n';
  writeFileSync(join(cwd, 'harness.yaml'), siem);
  writeFileSync(
    join(cwd, 'tuning.yaml'),
    stringify({ ...defaultTuning, registryKeyAllowlist: ['HKLM\\SOFTWARE\\Vendor\\*'], timeWindow: '3s' }),
  );
  const refused = await runCli(['run', '--config', 'harness.yaml', '--reports-dir', 'reports'], { cwd });
  t.is(refused.exitCode, 2, refused.stderr);
  t.regex(
    refused.stderr,
    /sets registryKeyAllowlist, which only the local SIEM's rules read; the configured SIEM is splunk/,
  );
  t.false(existsSync(join(cwd, 'reports')));

  writeFileSync(join(cwd, 'tuning.yaml'), stringify({ ...defaultTuning, timeWindow: '3s' }));
  const plan = await runCli(['plan', '--config', 'harness.yaml', '--json'], { cwd });
  t.is(plan.exitCode, 0, plan.stderr);
  // The example cmstp starts at 2026-11-23T12:00:00Z: the window-correlated legs end 3 s later, not 1.5 s.
  const end = Date.parse('2026-11-23T12:00:00.000Z') / 1000 + 3;
  t.true(plan.stdout.includes(`_time<=${end.toFixed(3)}`), plan.stdout.slice(0, 2000));
});
