import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../helpers/ports.js';
import { join } from 'node:path';
import { RunRecord, signalIds } from '../../src/core/index.js';
import { startLabSimulator } from '../../src/lab/simulator.js';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { cliPath, quickScenarios, runCli, repoRoot } from '../helpers/cli.js';
import { reportTexts, tempDir } from '../helpers/tmp.js';
import { readmeSample, sampleMismatches } from '../helpers/readme.js';

interface RunJson {
  lab: string;
  status: string;
  notRun: { scenario: string; host: string; reason: string }[];
  results: {
    status: string;
    marker: string;
    scenario: { id: string };
    queries: { kind: string; at: string; probes: string[] }[];
    signals: { id: string; verdict: string; reason: string; readiness: string }[];
    execution: {
      cleanup: { ran: boolean; verified: boolean };
      steps: { step: string }[];
      payloadFetches: { status: number; source: string; path: string; host: string; userAgent: string }[];
    } | null;
  }[];
}

const builtin = join(repoRoot, 'builtin-scenarios', 'cmstp-local-inf-presetup.yaml');

function readRun(reportsDir: string): RunJson {
  return JSON.parse(readFileSync(join(reportsDir, 'latest', 'run.json'), 'utf8')) as RunJson;
}

/** A built-in scenario with short deadlines, so a negative test does not wait out the default. */
function quickScenario(dir: string, name = 'cmstp-local-inf-presetup.yaml'): string {
  return quickScenarios(dir, [name])[0] ?? '';
}

test('npm start path: every built-in scenario passes on the embedded lab, covering all seven AN0932 signals', async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(['run', '--reports-dir', 'reports'], { cwd });

  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /SIMULATED LAB/);
  // #18: the README's sample output is what a real run prints (ids, timings and folders aside).
  t.true(readmeSample().length > 10);
  t.deepEqual(sampleMismatches(result.stdout), [], result.stdout);
  t.regex(result.stdout, /report: .*run\.json/);
  const run = readRun(join(cwd, 'reports'));
  t.is(run.lab, 'simulated');
  t.is(run.status, 'passed');
  t.true(run.results.length >= 8);
  const verdicts = run.results.flatMap((r) => r.signals.map((s) => s.verdict));
  t.deepEqual([...new Set(verdicts)], ['pass']);
  const covered = new Set(run.results.flatMap((r) => r.signals.map((s) => s.id)));
  t.deepEqual([...covered].sort(), [...signalIds].sort());
  t.true(run.results.every((r) => r.execution?.cleanup.verified === true));
  t.regex(readFileSync(join(cwd, 'reports', 'latest', 'report.md'), 'utf8'), /SIMULATED LAB/);
  t.true(existsSync(join(cwd, '.purple-harness', 'local-siem.sqlite')));
  // run.json is exactly the published, versioned format (schema/run.schema.json comes from this schema).
  const record = RunRecord.parse(run);
  t.is(record.schemaVersion, 2);
  // Our rules carry ATT&CK tags: every alerted signal is a Technique-level detection, Alerted in VECTR terms.
  const alerted = record.results.flatMap((r) => r.signals).filter((s) => s.expected.detected === true);
  t.true(alerted.length > 0);
  for (const signal of alerted) {
    t.is(signal.outcome.tier, 'alert', signal.id);
    t.deepEqual(signal.outcome.attackEvaluation, { category: 'Technique', modifiers: [] }, signal.id);
    t.is(signal.outcome.vectr, 'Alerted', signal.id);
  }
  t.is(record.summary.tiers.alert, alerted.length);
  t.true(record.summary.mttdMs !== null && record.summary.mttdMs >= 0);
});

test("the remote-scriptlet scenario carries the payload server's record of the fetch", async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(
    ['run', join(repoRoot, 'builtin-scenarios', 'cmstp-remote-scriptlet.yaml'), '--reports-dir', 'reports'],
    { cwd },
  );

  t.is(result.exitCode, 0, result.stderr);
  const [scenario] = readRun(join(cwd, 'reports')).results;
  const fetches = scenario?.execution?.payloadFetches ?? [];
  t.is(fetches.length, 1);
  t.like(fetches[0], {
    status: 200,
    source: '127.0.0.1',
    path: `/${scenario?.marker ?? ''}/${scenario?.marker ?? ''}.sct`,
  });
  t.regex(fetches[0]?.host ?? '', /^payload\.lab\.test:\d+$/);
  t.regex(fetches[0]?.userAgent ?? '', /MSIE/);
});

test('a sensor profile without process access and image loads: com-elevation and scriptlet-load are not captured, and the reason says what is missing', async (t) => {
  const cwd = tempDir(t);
  // The all-users scenario keeps its own deadlines: its blind signal must not be waited for to them (#18).
  const scenarios = [
    join(repoRoot, 'builtin-scenarios', 'cmstp-all-users-au.yaml'),
    quickScenario(cwd, 'cmstp-remote-scriptlet.yaml'),
  ];

  const result = await runCli(
    ['run', ...scenarios, '--lab-sensor', 'no-access-imageload', '--reports-dir', 'reports'],
    { cwd },
  );

  t.is(result.exitCode, 1, result.stderr);
  const signals = readRun(join(cwd, 'reports')).results.flatMap((r) => r.signals);
  const byId = (id: string) => signals.find((s) => s.id === id);
  t.is(byId('com-elevation')?.verdict, 'fail');
  t.regex(byId('com-elevation')?.reason ?? '', /not captured: no Sysmon 10\/7 event/);
  t.is(byId('scriptlet-load')?.verdict, 'fail');
  t.regex(byId('scriptlet-load')?.reason ?? '', /not captured: no Sysmon 7 event/);
  t.regex(
    byId('com-elevation')?.reason ?? '',
    /^blind spot: the host's sensors are not set up to record Sysmon 10\/7/,
  );
  t.is(byId('scriptlet-load')?.readiness, 'blind');
  t.is(byId('cmstp-exec')?.readiness, 'ready');
  // Looked for in every query, but the wait ended with the other signals, well before the capture deadline.
  const allUsers = readRun(join(cwd, 'reports')).results.find((r) => r.scenario.id === 'cmstp-all-users-au');
  const deadline = /not waited for to the (\d+) s deadline/.exec(byId('com-elevation')?.reason ?? '');
  t.truthy(deadline, byId('com-elevation')?.reason);
  const telemetry = (allUsers?.queries ?? []).filter((q) => q.kind === 'telemetry');
  t.true(telemetry.every((q) => q.probes.includes('com-elevation')));
  const waitedMs = Date.parse(telemetry.at(-1)?.at ?? '') - Date.parse(telemetry[0]?.at ?? '');
  t.true(waitedMs < Number(deadline?.[1]) * 1000, `${String(waitedMs)} ms`);
  t.regex(result.stdout + result.stderr, /not waiting for com-elevation: preflight found/);
  t.true(
    signals
      .filter((s) => !['com-elevation', 'scriptlet-load'].includes(s.id))
      .every((s) => s.verdict === 'pass'),
  );
});

test('the negative control fails as a false positive when a rule fires on it', async (t) => {
  const cwd = tempDir(t);
  const rules = join(cwd, 'rules');
  mkdirSync(rules);
  writeFileSync(
    join(rules, 'any-cmstp.yml'),
    [
      'title: Any cmstp.exe start',
      'id: 0f3e9c1a-5b7d-4e2f-9a8c-6d1b3e5f7a90',
      'level: low',
      'logsource: { product: windows, category: process_creation }',
      'detection:',
      '  selection:',
      "    Image|endswith: '\\cmstp.exe'",
      '  condition: selection',
      '',
    ].join('\n'),
  );
  writeFileSync(join(cwd, 'harness.yaml'), `siem:\n  type: local\n  rules: [${JSON.stringify(rules)}]\n`);

  const result = await runCli(
    [
      'run',
      join(repoRoot, 'builtin-scenarios', 'cmstp-negative-control-admin-install.yaml'),
      '--config',
      'harness.yaml',
      '--reports-dir',
      'reports',
    ],
    { cwd },
  );

  t.is(result.exitCode, 1, result.stderr);
  const [scenario] = readRun(join(cwd, 'reports')).results;
  t.is(scenario?.status, 'failed');
  const cmstp = scenario?.signals.find((s) => s.id === 'cmstp-exec');
  t.is(cmstp?.verdict, 'fail');
  t.regex(cmstp?.reason ?? '', /false positive: Any cmstp\.exe start fired/);
});

test('a signal the lab drops is a failed assertion: that signal fails, the others pass, exit 1', async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(
    ['run', quickScenario(cwd), '--lab-drop', 'child-process', '--reports-dir', 'reports'],
    { cwd },
  );

  t.is(result.exitCode, 1, result.stderr);
  const verdicts = Object.fromEntries(
    readRun(join(cwd, 'reports')).results[0]?.signals.map((s) => [s.id, s.verdict]) ?? [],
  );
  t.deepEqual(verdicts, { 'payload-file': 'pass', 'cmstp-exec': 'pass', 'child-process': 'fail' });
});

test('validate names the file, line, column and misspelt key, and exits 2', async (t) => {
  const cwd = tempDir(t);
  const file = join(cwd, 'typo.yaml');
  writeFileSync(file, readFileSync(builtin, 'utf8').replace('  payload:\n', '  paylaod:\n'));
  const line =
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('paylaod')) + 1;

  const result = await runCli(['validate', file], { cwd });

  t.is(result.exitCode, 2);
  t.true(
    result.stderr.includes(
      `typo.yaml:${line}:3: unknown key "paylaod" in emulation; did you mean "payload"?`,
    ),
    result.stderr,
  );
});

test('run refuses invalid scenarios before touching anything, with exit 2', async (t) => {
  const cwd = tempDir(t);
  const file = join(cwd, 'bad.yaml');
  writeFileSync(file, readFileSync(builtin, 'utf8').replace('analytic: AN0932', 'analytic: AN0000'));

  const result = await runCli(['run', file, '--reports-dir', 'reports'], { cwd });

  t.is(result.exitCode, 2);
  t.regex(result.stderr, /bad\.yaml:\d+:\d+: analytic/);
  t.false(existsSync(join(cwd, 'reports')));
});

test('render prints the INF a run would generate', async (t) => {
  const result = await runCli(['render', builtin, '--marker', 'ph0123456789ab'], { cwd: tempDir(t) });

  t.is(result.exitCode, 0);
  t.regex(result.stdout, /^ShortSvcName="ph0123456789ab"$/m);
});

test('a configured lab: secrets from the environment never reach stdout, stderr or reports', async (t) => {
  const cwd = tempDir(t);
  const port = await freePort();
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const token = `tk-${randomBytes(16).toString('hex')}`;
  const lab = await startLabSimulator({ password, hec: { url: `http://127.0.0.1:${port}`, token } });
  t.teardown(() => lab.close());
  writeFileSync(
    join(cwd, 'harness.yaml'),
    [
      'lab:',
      '  hosts:',
      `    - name: WIN10-LAB-01`,
      `      address: 127.0.0.1`,
      `      port: ${lab.port}`,
      `      username: ${lab.username}`,
      `      hostKeySha256: "${lab.hostKeySha256}"`,
      '      passwordEnv: LAB_PASSWORD',
      '      lab: true',
      'siem:',
      '  type: local',
      '  database: siem.sqlite',
      '  hec:',
      `    port: ${port}`,
      '    tokenEnv: HEC_TOKEN',
      'reports:',
      '  dir: out',
      '',
    ].join('\n'),
  );
  // The evidence-signing key sits in .env as one line, as most people will paste it.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyBody = pem.split('\n')[1] ?? '';
  writeFileSync(
    join(cwd, '.env'),
    `LAB_PASSWORD=${password}\nPURPLE_HARNESS_SIGNING_KEY="${pem.replaceAll('\n', '\\n')}"\n`,
  );
  writeFileSync(join(cwd, 'signing.pub'), publicKey.export({ type: 'spki', format: 'pem' }).toString());

  // This lab has no DNS entry for the payload server, so only a scenario without a scriptlet can pass.
  const result = await runCli(['run', builtin, '--config', 'harness.yaml', '--debug'], {
    cwd,
    env: { HEC_TOKEN: token },
  });

  t.is(result.exitCode, 0, result.stderr);
  const run = readRun(join(cwd, 'out'));
  t.is(run.lab, 'real');
  const outputs = [result.stdout, result.stderr];
  const runDir = join(cwd, 'out', readdirSync(join(cwd, 'out')).find((d) => d !== 'latest') ?? '');
  outputs.push(...reportTexts(runDir));
  for (const text of outputs) {
    t.false(text.includes(password), 'lab password leaked');
    t.false(text.includes(token), 'HEC token leaked');
    t.false(text.includes(keyBody), 'signing key leaked');
  }
  t.true(keyBody.length > 40);
  // The bundle is signed with that key, and verify accepts it when the key is pinned.
  const verified = await runCli(['verify', runDir, '--public-key', 'signing.pub'], { cwd });
  t.is(verified.exitCode, 0, verified.stderr);
  t.regex(verified.stdout, /signed by SHA256:\S+ \(the pinned key\)/);
});

test('a host outside the inventory is refused with exit 2', async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(['run', '--host', 'prod-dc-01'], { cwd });

  t.is(result.exitCode, 2);
  t.regex(result.stderr, /"prod-dc-01" is not in the lab inventory/);
});

test('an unreachable host is an infrastructure error: exit 3, and run.json is still written with inconclusive signals', async (t) => {
  const cwd = tempDir(t);
  const port = await freePort();
  writeFileSync(
    join(cwd, 'harness.yaml'),
    `lab:\n  hosts:\n    - name: gone\n      address: 127.0.0.1\n      port: ${port}\n      username: x\n      hostKeySha256: "SHA256:${'A'.repeat(43)}"\n      passwordEnv: LAB_PASSWORD\n      lab: true\nsiem:\n  type: local\n  database: ":memory:"\npayloadServer:\n  bind: 127.0.0.1\n  advertisedHost: 127.0.0.1\n`,
  );

  const result = await runCli(['run', '--config', 'harness.yaml', '--reports-dir', 'reports'], {
    cwd,
    env: { LAB_PASSWORD: 'x'.repeat(12), PURPLE_HARNESS_HEC_TOKEN: 'y'.repeat(20) },
  });

  t.is(result.exitCode, 3, result.stderr);
  const run = readRun(join(cwd, 'reports'));
  t.is(run.status, 'error');
  t.true(run.results[0]?.signals.every((s) => s.verdict === 'inconclusive'));
  // #18: the host fails once; every other scenario on it is listed as not run, with why.
  const builtins = readdirSync(join(repoRoot, 'builtin-scenarios')).filter((n) => n.endsWith('.yaml')).length;
  t.is(run.results.length, 1);
  t.is(run.notRun.length, builtins - 1);
  t.true(
    run.notRun.every((p) =>
      /^gone could not be reached for \S+, so it was not tried again: \[executor:ssh\] cannot connect to gone \(127\.0\.0\.1:\d+\): connect ECONNREFUSED/.test(
        p.reason,
      ),
    ),
    JSON.stringify(run.notRun[0]),
  );
  t.is(result.stdout.split('\n').filter((l) => l.startsWith('NOT RUN')).length, builtins - 1);
  t.true(result.stderr.split('\n').filter((l) => l.includes('ECONNREFUSED')).length < 10, result.stderr);
});

test('Ctrl-C while polling: exit 130, clean-up already verified, and what was seen is written', async (t) => {
  const cwd = tempDir(t);
  const scenario = join(cwd, 'slow.yaml');
  writeFileSync(scenario, readFileSync(builtin, 'utf8').replace('capture: 30s', 'capture: 60s'));
  const next = quickScenario(cwd, 'cmstp-all-users-au.yaml');
  const child = execa(
    'node',
    [cliPath, 'run', scenario, next, '--lab-drop', 'child-process', '--reports-dir', 'reports'],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '' },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    },
  );
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('execution executed')) resolve();
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 500));

  child.kill('SIGINT');
  const result = await child;

  t.is(result.exitCode, 130, result.stderr);
  const run = readRun(join(cwd, 'reports'));
  t.is(run.status, 'interrupted');
  t.true(run.results[0]?.execution?.cleanup.verified);
  const verdicts = Object.fromEntries(run.results[0]?.signals.map((s) => [s.id, s.verdict]) ?? []);
  t.deepEqual(verdicts, { 'payload-file': 'pass', 'cmstp-exec': 'pass', 'child-process': 'inconclusive' });
  // #18: the scenario it never started is listed, with why, in run.json and on screen.
  t.deepEqual(run.notRun, [
    {
      scenario: 'cmstp-all-users-au',
      host: 'WIN10-LAB-01',
      reason: 'the run was interrupted before it started',
    },
  ]);
  t.regex(
    result.stdout,
    /^NOT RUN +cmstp-all-users-au on WIN10-LAB-01: the run was interrupted before it started$/m,
  );
});

test('signals --siem X --json prints a query for all 7 signals, for each of the 4 backends', async (t) => {
  for (const siem of ['local', 'splunk', 'sentinel', 'elastic']) {
    const result = await runCli(['signals', '--siem', siem, '--json'], { cwd: tempDir(t) });

    t.is(result.exitCode, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as {
      siem: string;
      signals: { signal: string; query: unknown }[];
    };
    t.is(parsed.siem, siem);
    t.deepEqual(parsed.signals.map((s) => s.signal).sort(), [...signalIds].sort());
    t.true(parsed.signals.every((s) => s.query !== null && s.query !== ''));
  }
  t.is((await runCli(['signals', '--siem', 'qradar'], { cwd: tempDir(t) })).exitCode, 2);
});

/** A simulated lab host (its events go nowhere) and a harness.yaml in a fresh folder naming it. */
async function labWithConfig(t: ExecutionContext) {
  const cwd = tempDir(t);
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const lab = await startLabSimulator({
    password,
    hec: { url: `http://127.0.0.1:${port}`, token: 'unused-token-0123456789' },
  });
  t.teardown(() => lab.close());
  writeFileSync(
    join(cwd, 'harness.yaml'),
    `lab:\n  hosts:\n    - name: WIN10-LAB-01\n      address: 127.0.0.1\n      port: ${lab.port}\n      username: ${lab.username}\n      hostKeySha256: "${lab.hostKeySha256}"\n      passwordEnv: LAB_PASSWORD\n      lab: true\n`,
  );
  return { cwd, password, lab };
}

test('cleanup --marker removes what an interrupted run left behind, and verifies it', async (t) => {
  const { cwd, password, lab } = await labWithConfig(t);
  const marker = 'phleftover0001';
  const runDir = `C:\\ProgramData\\purple-harness\\runs\\${marker}`;
  // What a run killed mid-way leaves: its folder and INF, a profile mapping, and a process still running.
  lab.host.drive.mkdirp(runDir);
  lab.host.drive.writeFile(`${runDir}\\${marker}.inf`, Buffer.from('[version]'));
  lab.host.registry.setValue(
    'HKCU:\\Software\\Microsoft\\Connection Manager\\Mappings',
    marker,
    `${marker}.cms`,
  );
  lab.host.processes.spawn({
    image: 'C:\\Windows\\System32\\cmstp.exe',
    commandLine: `cmstp.exe /s ${runDir}\\${marker}.inf`,
    parent: null,
    user: 'x',
    integrityLevel: 'High',
    currentDirectory: 'C:\\',
  });

  const result = await runCli(['cleanup', '--marker', marker, '--config', 'harness.yaml'], {
    cwd,
    env: { LAB_PASSWORD: password },
  });

  t.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  t.regex(result.stdout, new RegExp(`removed dir:C:\\\\ProgramData\\\\purple-harness\\\\runs\\\\${marker}`));
  t.regex(result.stdout, /removed process:\d+:cmstp\.exe/);
  t.regex(result.stdout, /removed value:.*Mappings\|phleftover0001/);
  t.regex(
    result.stdout,
    /present, not removed .*key:HKCU:\\Software\\Microsoft\\Connection Manager\\Mappings/,
  );
  t.false(lab.host.drive.exists(runDir));
  t.false(lab.host.processes.running().some((p) => p.commandLine.includes(marker)));
  t.false(result.stdout.includes(password));
});

test('#14.14 cleanup --marker takes only a marker the harness made: `system32` is refused (exit 2) before any host is touched', async (t) => {
  const { cwd, password, lab } = await labWithConfig(t);
  const running = lab.host.processes.running().length;

  for (const word of ['system32', 'phTOOSHORT', 'ph0123456789abc', 'svchost']) {
    const result = await runCli(['cleanup', '--marker', word, '--config', 'harness.yaml'], {
      cwd,
      env: { LAB_PASSWORD: password },
    });
    t.is(result.exitCode, 2, word);
    t.regex(result.stderr, /is not a purple-harness run marker/);
  }
  t.deepEqual(lab.host.activity, [], 'no connection was made');
  t.is(lab.host.processes.running().length, running, 'no process was killed');
});

test('a wrong host key is refused with exit 3 and a message naming both fingerprints', async (t) => {
  const cwd = tempDir(t);
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const lab = await startLabSimulator({
    password,
    hec: { url: 'http://127.0.0.1:9', token: 'unused-token-0123456789' },
  });
  t.teardown(() => lab.close());
  const pinned = `SHA256:${'B'.repeat(43)}`;
  writeFileSync(
    join(cwd, 'harness.yaml'),
    `lab:\n  hosts:\n    - name: WIN10-LAB-01\n      address: 127.0.0.1\n      port: ${lab.port}\n      username: ${lab.username}\n      hostKeySha256: "${pinned}"\n      passwordEnv: LAB_PASSWORD\n      lab: true\nsiem:\n  type: local\n  database: ":memory:"\n`,
  );

  const result = await runCli(['run', builtin, '--config', 'harness.yaml', '--reports-dir', 'reports'], {
    cwd,
    env: { LAB_PASSWORD: password, PURPLE_HARNESS_HEC_TOKEN: 't'.repeat(20) },
  });

  t.is(result.exitCode, 3, result.stderr);
  t.true(result.stdout.includes(pinned), result.stdout);
  t.true(result.stdout.includes(lab.hostKeySha256), result.stdout);
  t.is(lab.host.activity.length, 0, 'no operation ran on the host');
  t.true(readRun(join(cwd, 'reports')).results[0]?.signals.every((s) => s.verdict === 'inconclusive'));
});

test('a host without a pinned key is refused (exit 2) unless --trust-new-host-keys records it', async (t) => {
  const cwd = tempDir(t);
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const lab = await startLabSimulator({
    password,
    hec: { url: `http://127.0.0.1:${port}`, token: 'tk-0123456789abcdef' },
  });
  t.teardown(() => lab.close());
  writeFileSync(
    join(cwd, 'harness.yaml'),
    `lab:\n  hosts:\n    - name: WIN10-LAB-01\n      address: 127.0.0.1\n      port: ${lab.port}\n      username: ${lab.username}\n      lab: true\n      tags: [win10]\n      passwordEnv: LAB_PASSWORD\nsiem:\n  type: local\n  database: siem.sqlite\n  hec:\n    port: ${port}\n    tokenEnv: HEC_TOKEN\n`,
  );
  const env = { LAB_PASSWORD: password, HEC_TOKEN: 'tk-0123456789abcdef' };

  const refused = await runCli(['run', builtin, '--config', 'harness.yaml'], { cwd, env });
  const activityAfterRefusal = lab.host.activity.length;
  const trusted = await runCli(
    ['run', builtin, '--config', 'harness.yaml', '--trust-new-host-keys', '--host', 'tag:win10'],
    { cwd, env },
  );
  const activityAfterTrust = lab.host.activity.length;
  const pinnedNow = await runCli(['run', builtin, '--config', 'harness.yaml', '--host', 'tag:win10'], {
    cwd,
    env,
  });
  const badTag = await runCli(['run', builtin, '--config', 'harness.yaml', '--host', 'tag:nope'], {
    cwd,
    env,
  });

  t.is(refused.exitCode, 2);
  t.regex(refused.stderr, /no pinned host key for WIN10-LAB-01/);
  t.is(activityAfterRefusal, 0, 'nothing ran before the key was trusted');
  // A password host: its key is recorded without authenticating, and it runs only from the next run on.
  t.is(trusted.exitCode, 2, trusted.stderr);
  t.true(trusted.stderr.includes(`recorded host key ${lab.hostKeySha256}`));
  t.regex(trusted.stderr, /a password is only ever sent to a host pinned before the run/);
  t.is(activityAfterTrust, 0, 'nothing ran on the host while its key was being recorded');
  t.is(
    (
      JSON.parse(readFileSync(join(cwd, '.purple-harness', 'known-hosts.json'), 'utf8')) as Record<
        string,
        string
      >
    )['WIN10-LAB-01'],
    lab.hostKeySha256,
  );
  t.is(pinnedNow.exitCode, 0, pinnedNow.stderr);
  t.is(badTag.exitCode, 2);
});

test('#14.16 --trust-new-host-keys never sends the lab password to an unverified host (a loopback impostor)', async (t) => {
  const cwd = tempDir(t);
  const password = `pw-${randomBytes(12).toString('hex')}`;
  // The impostor: an SSH server on loopback that records every credential it is offered.
  const offered: string[] = [];
  const impostor = new ssh2.Server(
    { hostKeys: [ssh2.utils.generateKeyPairSync('ed25519').private] },
    (client) => {
      client.on('authentication', (ctx) => {
        offered.push(ctx.method === 'password' ? ctx.password : ctx.method);
        ctx.reject(['password']);
      });
      client.on('error', () => {});
    },
  );
  await new Promise<void>((done) => impostor.listen(0, '127.0.0.1', done));
  t.teardown(
    () =>
      new Promise<void>((done) =>
        impostor.close(() => {
          done();
        }),
      ),
  );
  const port = (impostor.address() as { port: number }).port;
  writeFileSync(
    join(cwd, 'harness.yaml'),
    `lab:\n  hosts:\n    - name: WIN10-LAB-01\n      address: 127.0.0.1\n      port: ${String(port)}\n      username: labadmin\n      passwordEnv: LAB_PASSWORD\n      lab: true\nsiem:\n  type: local\n  database: ":memory:"\n`,
  );

  const result = await runCli(['run', builtin, '--config', 'harness.yaml', '--trust-new-host-keys'], {
    cwd,
    env: { LAB_PASSWORD: password, PURPLE_HARNESS_HEC_TOKEN: 't'.repeat(20) },
  });

  t.is(result.exitCode, 2, result.stderr);
  t.false(offered.includes(password), 'the impostor never received the password');
  t.deepEqual(
    offered.filter((o) => o !== 'none'),
    [],
  );
});

test('--preflight strict skips a scenario whose expected signals the host cannot record, before staging anything', async (t) => {
  const cwd = tempDir(t);
  const scenario = quickScenario(cwd, 'cmstp-all-users-au.yaml');

  const result = await runCli(
    [
      'run',
      scenario,
      '--lab-sensor',
      'no-access-imageload',
      '--preflight',
      'strict',
      '--reports-dir',
      'reports',
    ],
    { cwd },
  );

  t.is(result.exitCode, 3, result.stderr);
  const [run] = readRun(join(cwd, 'reports')).results;
  t.is(run?.status, 'error');
  t.regex(result.stdout, /preflight: the host's sensors cannot record com-elevation \(--preflight strict\)/);
  t.true(run?.signals.every((s) => s.verdict === 'inconclusive'));
  t.is(run?.signals.find((s) => s.id === 'com-elevation')?.readiness, 'blind');
  // Only read-only steps ran, so there was nothing to clean up; the host lock was taken and given back.
  t.false(run?.execution?.cleanup.ran);
  t.deepEqual(
    run?.execution?.steps.map((s) => s.step),
    ['connect', 'secure-folder', 'lock-host', 'preflight', 'unlock-host'],
  );
});
