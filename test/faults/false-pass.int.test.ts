import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecord, labKindOf, labNotice, type RunResult } from '../../src/core/index.js';
import { startLabSimulator } from '../../src/lab/simulator.js';
import { mergeRuns } from '../../src/pipeline/merge.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { hostOf, runOnLab, startTestLab, startTestSiem } from '../helpers/lab.js';
import { freePort } from '../helpers/ports.js';
import { quickScenarios, runCli } from '../helpers/cli.js';

/* #14: runs that did not evaluate their whole plan, or whose hosts were not what the label says, never pass. */

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'purple-harness-false-pass-'));
  mkdirSync(join(root, 'scenarios'));
  quickScenarios(join(root, 'scenarios'), ['cmstp-local-inf-presetup.yaml', 'cmstp-all-users-au.yaml']);
  return root;
}

const readRun = (reports: string): RunResult =>
  RunRecord.parse(JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')));

test('#14.3 a stop file present at start: nothing runs, the run is incomplete (exit 3) and lists every pair not run', async (t) => {
  const root = workspace();
  mkdirSync(join(root, '.purple-harness'));
  writeFileSync(join(root, '.purple-harness', 'STOP'), '');

  const result = await runCli(['run', 'scenarios', '--reports-dir', 'reports'], { cwd: root });

  t.is(result.exitCode, 3, result.stdout + result.stderr);
  const run = readRun(join(root, 'reports'));
  t.is(run.status, 'incomplete');
  t.is(run.results.length, 0);
  t.deepEqual(
    run.notRun.map((p) => p.scenario),
    ['cmstp-all-users-au', 'cmstp-local-inf-presetup'],
  );
  t.regex(result.stdout, /NOT RUN\s+cmstp-all-users-au on WIN10-LAB-01: the operator's stop file/);
});

test('#14.3 an empty shard (--shard 3/3 of two pairs) evaluates nothing and is not passed', async (t) => {
  const root = workspace();

  const result = await runCli(['run', 'scenarios', '--reports-dir', 'reports', '--shard', '3/3'], {
    cwd: root,
  });

  t.is(result.exitCode, 3, result.stdout + result.stderr);
  const run = readRun(join(root, 'reports'));
  t.is(run.status, 'incomplete');
  t.is(run.summary.scenarios, 0);
  t.regex(result.stdout, /nothing was planned/);
});

test('#14.8 report merge never turns a crashed shard into a passed run', (t) => {
  const part = (index: number, status: RunResult['status'], notRun: RunResult['notRun']): RunResult => ({
    schemaVersion: 2,
    suggestions: { offered: [], withheld: [] },
    timeWindowMs: null,
    runId: `run-${String(index)}`,
    harness: { name: 'purple-harness', version: 'test' },
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:01:00.000Z',
    lab: 'simulated',
    siem: { id: 'local', tuning: null, description: 'local' },
    shard: { index, count: 2 },
    mergedFrom: null,
    status,
    summary: {
      signals: 0,
      pass: 0,
      fail: 0,
      late: 0,
      inconclusive: 0,
      tiers: { alert: 0, telemetry: 0, none: 0 },
      mttdMs: null,
      meanCaptureLatencyMs: null,
      scenarios: 0,
    },
    results: [],
    notRun,
    controls: [],
    regressions: [],
  });
  const crashedOld = mergeRuns([part(1, 'passed', []), part(2, 'error', [])], {
    runId: 'm',
    version: 'test',
    history: [],
  });
  t.is(crashedOld.status, 'error');
  const crashed = mergeRuns(
    [part(1, 'passed', []), part(2, 'error', [{ scenario: 's', host: 'h', reason: 'the run stopped' }])],
    { runId: 'm', version: 'test', history: [] },
  );
  t.is(crashed.status, 'error');
  t.deepEqual(crashed.notRun, [{ scenario: 's', host: 'h', reason: 'the run stopped (shard run run-2)' }]);
});

test('#14.17 a run mixing simulated and real hosts is labelled mixed and names the simulated ones', (t) => {
  t.is(labKindOf([{ simulated: true }, { simulated: false }]), 'mixed');
  t.is(labKindOf([{ simulated: false }]), 'real');
  t.is(labKindOf([{ simulated: true }]), 'simulated');
  const notice = labNotice({
    lab: 'mixed',
    results: [
      { host: { name: 'SIM-01', address: '127.0.0.1', simulated: true } },
      { host: { name: 'WIN-REAL', address: '10.0.0.5', simulated: false } },
    ] as unknown as RunResult['results'],
  });
  t.regex(
    notice ?? '',
    /SIMULATED HOSTS IN THIS RUN: the results for SIM-01 come from the embedded lab simulator/,
  );
  t.notRegex(notice ?? '', /WIN-REAL/);
});

test('#14.5 cloned hosts (one computer name, run in parallel) never credit each other: the clone is refused before staging', async (t) => {
  const { siem, endpoint } = await startTestSiem();
  t.teardown(() => siem.dispose());
  const labs = await Promise.all(
    [[], ['cmstp-exec', 'payload-file', 'child-process', 'profile-registry']].map((drop) =>
      startLabSimulator({
        computer: 'WIN10-CLONE.lab.local',
        password: 'clone-password-1',
        hec: endpoint,
        dropSignals: drop,
      }),
    ),
  );
  t.teardown(async () => {
    for (const lab of labs) await lab.close();
  });
  const hosts = labs.map((lab, i) => hostOf(lab, 'clone-password-1', `CLONE-${String(i + 1)}`));
  const scenarios = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);

  const run = await runOnLab({ scenarios, hosts, siem, concurrency: 2 });

  const verdicts = run.results.map((r) => ({
    host: r.host.name,
    passed: r.signals.filter((s) => s.verdict === 'pass').length,
  }));
  const refused = run.results.filter((r) => /a cloned VM/.test(r.execution?.reason ?? ''));
  t.is(refused.length, 1, JSON.stringify(verdicts));
  t.true(refused.every((r) => r.signals.every((s) => s.verdict === 'inconclusive')));
  t.false(refused[0]?.execution?.progress.staged ?? true, 'nothing was staged on the clone');
  // The host that drops everything never passes on the other's events.
  const blind = run.results.find((r) => r.host.name === 'CLONE-2');
  t.false(blind?.signals.some((s) => s.verdict === 'pass') ?? true);
  t.not(run.status, 'passed');
});

test('#14.17 a run with a simulated host and a real one is labelled mixed everywhere, naming the simulated host', async (t) => {
  const root = workspace();
  const port = await freePort();
  const token = 'tk-mixed-0123456789abcdef';
  const password = 'mixed-lab-password-1';
  const labs = await Promise.all(
    ['SIM-01.lab.local', 'WIN-REAL.lab.local'].map((computer) =>
      startLabSimulator({ computer, password, hec: { url: `http://127.0.0.1:${String(port)}`, token } }),
    ),
  );
  t.teardown(async () => {
    for (const lab of labs) await lab.close();
  });
  const [sim, real] = labs;
  if (sim === undefined || real === undefined) throw new Error('two labs');
  const host = (name: string, lab: typeof sim, simulated: boolean) =>
    [
      `    - name: ${name}`,
      `      address: ${lab.address}`,
      `      port: ${String(lab.port)}`,
      `      username: ${lab.username}`,
      `      hostKeySha256: "${lab.hostKeySha256}"`,
      '      passwordEnv: LAB_PASSWORD',
      '      lab: true',
      ...(simulated ? ['      simulated: true'] : []),
    ].join('\n');
  writeFileSync(
    join(root, 'harness.yaml'),
    `lab:\n  hosts:\n${host('SIM-01', sim, true)}\n${host('WIN-REAL', real, false)}\nsiem:\n  type: local\n  database: siem.sqlite\n  hec:\n    port: ${String(port)}\n    tokenEnv: HEC_TOKEN\n`,
  );

  const result = await runCli(
    [
      'run',
      join('scenarios', 'cmstp-local-inf-presetup.yaml'),
      '--config',
      'harness.yaml',
      '--reports-dir',
      'reports',
    ],
    { cwd: root, env: { LAB_PASSWORD: password, HEC_TOKEN: token } },
  );

  const run = readRun(join(root, 'reports'));
  t.is(run.lab, 'mixed', result.stdout + result.stderr);
  t.regex(
    result.stdout,
    /SIMULATED HOSTS IN THIS RUN: the results for SIM-01 come from the embedded lab simulator/,
  );
  const report = readFileSync(join(root, 'reports', 'latest', 'report.md'), 'utf8');
  t.regex(report.split('\n').slice(0, 5).join('\n'), /SIMULATED HOSTS IN THIS RUN/);
  t.regex(readFileSync(join(root, 'reports', 'latest', 'junit.xml'), 'utf8'), /\(SIMULATED HOSTS\)/);
});

test('#14.10 with a signing key configured, verify requires a signature by it: an unsigned run fails', async (t) => {
  const root = workspace();
  const ran = await runCli(
    ['run', join('scenarios', 'cmstp-local-inf-presetup.yaml'), '--reports-dir', 'reports'],
    {
      cwd: root,
    },
  );
  t.is(ran.exitCode, 0, ran.stderr);
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  const plain = await runCli(['verify', join('reports', 'latest')], { cwd: root });
  const keyed = await runCli(['verify', join('reports', 'latest')], {
    cwd: root,
    env: { PURPLE_HARNESS_SIGNING_KEY: pem },
  });

  t.is(plain.exitCode, 0, plain.stderr);
  t.is(keyed.exitCode, 1, keyed.stdout);
  t.regex(keyed.stderr, /manifest\.sig\.json: missing, but a signature by SHA256:\S+ is required/);
});

test("#15 a time-correlated pattern never takes the run just before: the all-users surrogate child of an ICMLuaUtil run is not the next run's child-process", async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const scenarios = loadScenariosOrThrow(
    ['cmstp-com-elevation-icmluautil', 'cmstp-local-inf-presetup'].map((name) =>
      join(builtinScenariosDir(), `${name}.yaml`),
    ),
  );

  const run = await runOnLab({ scenarios, hosts: [lab.host], siem: lab.siem });

  const [com, local] = run.results;
  const comChild = com?.signals.find((s) => s.id === 'child-process');
  const localChild = local?.signals.find((s) => s.id === 'child-process');
  t.true((comChild?.observed.events.length ?? 0) > 0);
  const taken = new Set(comChild?.observed.events.map((e) => e.ref));
  t.deepEqual(
    localChild?.observed.events.filter((e) => taken.has(e.ref)).map((e) => e.ref),
    [],
  );
  t.false(localChild?.observed.alerts.some((a) => a.ruleId.startsWith('c2b7d95e')) ?? true);
});
