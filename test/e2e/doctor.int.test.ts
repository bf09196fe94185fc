import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLabSimulator } from '../../src/lab/simulator.js';
import { toClassicText, toWindowsXml } from '../../src/lab/sysmon.js';
import { startFakeElastic } from '../helpers/fake-elastic.js';
import { startFakeSentinel } from '../helpers/fake-sentinel.js';
import { startFakeSplunk } from '../helpers/fake-splunk.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

test('doctor checks config, variables and connectivity (host keys included) and executes nothing', async (t) => {
  const cwd = tempDir(t);
  const password = `pw-${randomBytes(10).toString('hex')}`;
  const closedHec = await freePort();
  const lab = await startLabSimulator({
    password,
    hec: { url: `http://127.0.0.1:${String(closedHec)}`, token: 'unused-token-0123' },
  });
  // A second host whose key is not the one pinned for it (one machine may not be listed twice).
  const other = await startLabSimulator({
    password,
    hec: { url: `http://127.0.0.1:${String(closedHec)}`, token: 'unused-token-0123' },
  });
  t.teardown(() => Promise.all([lab.close(), other.close()]));
  const closedPort = await freePort();
  const host = (name: string, pin: string, port = lab.port) => [
    `    - name: ${name}`,
    '      address: 127.0.0.1',
    `      port: ${String(port)}`,
    `      username: ${lab.username}`,
    `      hostKeySha256: "${pin}"`,
    '      passwordEnv: LAB_PASSWORD',
    '      lab: true',
  ];
  writeFileSync(
    join(cwd, 'purple-harness.config.yaml'),
    [
      'lab:',
      '  hosts:',
      ...host('WIN10-LAB-01', lab.hostKeySha256),
      ...host('WIN10-LAB-02', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', other.port),
      'siem:',
      '  type: splunk',
      `  url: https://127.0.0.1:${String(closedPort)}`,
      '  tokenEnv: SPLUNK_TOKEN',
      'payloadServer:',
      '  bind: 127.0.0.1',
      '  advertisedHost: 127.0.0.1',
      '',
    ].join('\n'),
  );

  const missing = await runCli(['doctor'], { cwd, env: { LAB_PASSWORD: password } });
  t.is(missing.exitCode, 2, missing.stdout);
  t.regex(missing.stdout, /^FAIL {2}environment +SPLUNK_TOKEN: not set/m);
  t.regex(missing.stdout, /^ok {4}environment +LAB_PASSWORD: set$/m);

  const result = await runCli(['doctor'], {
    cwd,
    env: { LAB_PASSWORD: password, SPLUNK_TOKEN: 'tok-123456' },
  });
  t.is(result.exitCode, 3, result.stdout);
  t.regex(
    result.stdout,
    /^ok {4}connectivity +WIN10-LAB-01 ssh: answers on 127\.0\.0\.1:\d+, host key matches its pin$/m,
  );
  t.true(
    result.stdout.includes(
      `FAIL  connectivity WIN10-LAB-02 ssh: host key ${other.hostKeySha256} is not the pinned`,
    ),
  );
  t.regex(result.stdout, /^FAIL {2}connectivity +siem splunk: /m);
  t.regex(result.stdout, /^ok {4}config +scenarios: 13 valid$/m);
  t.regex(result.stdout, /^ok {4}config +payload server: can listen on 127\.0\.0\.1:0$/m);
  for (const text of [missing.stdout, result.stdout, result.stderr]) {
    t.false(text.includes(password));
    t.false(text.includes('tok-123456'));
  }
  // Nothing ran on the host: doctor stops at the SSH handshake.
  t.deepEqual(lab.host.activity, []);
  t.deepEqual(other.host.activity, []);
});

/** Runs doctor with only a SIEM configured; returns its output and exit code. */
async function doctorWith(t: ExecutionContext, siem: readonly string[], env: Record<string, string>) {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'purple-harness.config.yaml'),
    ['siem:', ...siem.map((l) => `  ${l}`), ''].join('\n'),
  );
  const result = await runCli(['doctor'], { cwd, env });
  for (const secret of Object.values(env)) t.false(`${result.stdout}${result.stderr}`.includes(secret));
  return result;
}

const sentinelToken = 'eyJ0eXAiOiJKV1QifQ.doctor-sentinel-token';
const workspaceId = '0d9b4c2a-7e1f-4a3b-8c5d-6e7f8a9b0c1d';

for (const [parser, expect] of [
  [
    null,
    /^FAIL {2}siem +sentinel Sysmon function: the workspace has no function named Sysmon: .*Failed to resolve table or column expression named 'Sysmon'/m,
  ],
  [
    'v12.0',
    /^FAIL {2}siem +sentinel Sysmon function: lacks the column\(s\) TimeGenerated, Computer the queries use/m,
  ],
  ['v11.0', /^ok {4}siem +sentinel Sysmon function: returns \d+ columns/m],
] as const) {
  test(`#16 doctor asks the Sentinel workspace for its Sysmon function (${parser ?? 'none'}): a missing one or one without Computer/TimeGenerated is a configuration error with the fix`, async (t) => {
    const fake = await startFakeSentinel({ workspaceId, token: sentinelToken, sysmonFunction: parser });
    t.teardown(() => fake.close());

    const result = await doctorWith(
      t,
      ['type: sentinel', `workspaceId: ${workspaceId}`, `endpoint: ${fake.url}`, 'credential: token'],
      { SENTINEL_TOKEN: sentinelToken },
    );

    t.regex(result.stdout, expect);
    if (parser === 'v11.0') t.is(result.exitCode, 0, result.stdout);
    else {
      t.is(result.exitCode, 2, result.stdout);
      t.regex(
        result.stdout,
        /fix: Save the public Sysmon parser .* as a workspace function named exactly Sysmon/,
      );
    }
  });
}

for (const [sysmon, has, expect] of [
  [
    'asim',
    { sysmonFunction: null },
    [
      /^ok {4}siem +sentinel ASIM parser _Im_ProcessCreate: returns \d+ columns/m,
      /^ok {4}siem +sentinel ASIM parser _Im_RegistryEvent: returns \d+ columns/m,
      /^FAIL {2}siem +sentinel Sysmon function: the workspace has no function named Sysmon: .* \(Sysmon 7, 10, 22 have no ASIM schema: remote-fetch, scriptlet-load, com-elevation read them there\)/m,
    ],
  ],
  [
    'asim-workspace',
    { sysmonFunction: 'v11.0' },
    [
      /^FAIL {2}siem +sentinel ASIM parser imProcessCreate: the workspace has no function named imProcessCreate: .*Failed to resolve/m,
      /fix: Deploy the ASIM parsers to the workspace/,
      /^ok {4}siem +sentinel Sysmon function: returns \d+ columns/m,
    ],
  ],
  [
    'asim-workspace',
    { sysmonFunction: 'v11.0', asimDeployed: true },
    [/^ok {4}siem +sentinel ASIM parser imNetworkSession: returns \d+ columns/m],
  ],
] as const) {
  test(`#16 doctor with sysmon: ${sysmon} checks each ASIM parser the queries read, and the Sysmon function for the events ASIM has no schema for (${JSON.stringify(has)})`, async (t) => {
    const fake = await startFakeSentinel({ workspaceId, token: sentinelToken, ...has });
    t.teardown(() => fake.close());

    const result = await doctorWith(
      t,
      [
        'type: sentinel',
        `workspaceId: ${workspaceId}`,
        `endpoint: ${fake.url}`,
        'credential: token',
        `sysmon: ${sysmon}`,
      ],
      { SENTINEL_TOKEN: sentinelToken },
    );

    for (const line of expect) t.regex(result.stdout, line);
    t.is(result.exitCode, 'asimDeployed' in has ? 0 : 2, result.stdout);
  });
}

/** A Splunk index holding XML Sysmon and the Security log in one rendering. */
async function splunkHolding(t: ExecutionContext, security: 'xml' | 'classic') {
  const token = 'splunk-doctor-token-0123';
  const fake = await startFakeSplunk({ token, hecToken: 'hec-doctor-token-0123' });
  t.teardown(() => fake.close());
  const time = new Date(Date.now() - 60_000);
  const event = (fields: Record<string, string | number>) => ({
    behaviour: 'cmstp-exec' as const,
    time,
    fields: { Computer: 'WIN10-LAB-01', ...fields },
  });
  fake.add({
    time,
    host: 'WIN10-LAB-01',
    index: 'wineventlog',
    source: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational',
    sourcetype: 'XmlWinEventLog',
    raw: toWindowsXml(
      event({ EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Image: 'C:\\x.exe' }),
    ),
  });
  const process4688 = event({ EventID: 4688, Channel: 'Security', NewProcessName: 'C:\\x.exe' });
  fake.add({
    time,
    host: 'WIN10-LAB-01',
    index: 'wineventlog',
    ...(security === 'xml'
      ? { source: 'XmlWinEventLog:Security', sourcetype: 'XmlWinEventLog', raw: toWindowsXml(process4688) }
      : { source: 'WinEventLog:Security', sourcetype: 'WinEventLog', raw: toClassicText(process4688) }),
  });
  return { fake, token };
}

test('#16 doctor reads which rendering the Splunk index holds: classic Security events with securityRendering xml is a configuration error with the fix; both is fine', async (t) => {
  const { fake, token } = await splunkHolding(t, 'classic');
  const config = (rendering: string) => [
    'type: splunk',
    `url: ${fake.url}`,
    'tokenEnv: SPLUNK_TOKEN',
    'index: wineventlog',
    `securityRendering: ${rendering}`,
  ];

  const xml = await doctorWith(t, config('xml'), { SPLUNK_TOKEN: token });
  t.is(xml.exitCode, 2, xml.stdout);
  t.regex(xml.stdout, /^FAIL {2}siem +splunk Security rendering: Security 4688 events: 0 XML .*, 1 classic/m);
  t.regex(xml.stdout, /fix: Set securityRendering: classic \(or both\)/);
  t.regex(
    xml.stdout,
    /^ok {4}siem +splunk Sysmon source: 1 events from XmlWinEventLog:Microsoft-Windows-Sysmon\/Operational/m,
  );

  const both = await doctorWith(t, config('both'), { SPLUNK_TOKEN: token });
  t.is(both.exitCode, 0, both.stdout);
});

test('#16 doctor checks the ECS field types in the indices: a process.pid mapped as keyword is a configuration error with the fix', async (t) => {
  const apiKey = Buffer.from('doctor:elastic-key-0123').toString('base64');
  const keyword = await startFakeElastic({
    authorization: `ApiKey ${apiKey}`,
    mappings: { 'process.pid': 'keyword' },
  });
  const typed = await startFakeElastic({ authorization: `ApiKey ${apiKey}` });
  t.teardown(() => Promise.all([keyword.close(), typed.close()]));
  for (const fake of [keyword, typed])
    fake.index('logs-system.security-default', {
      process: { pid: fake === keyword ? '0x114c' : 4428 },
      host: { name: 'w' },
    });
  const config = (url: string) => ['type: elastic', `url: ${url}`, 'apiKeyEnv: ES_API_KEY'];

  const bad = await doctorWith(t, config(keyword.url), { ES_API_KEY: apiKey });
  t.is(bad.exitCode, 2, bad.stdout);
  t.regex(
    bad.stdout,
    /^FAIL {2}siem +elastic process\.pid: mapped otherwise than ECS's long in logs-system\.security-default: keyword/m,
  );
  t.regex(bad.stdout, /fix: Map process\.pid as long, .*decodes their hex process ids/);

  const good = await doctorWith(t, config(typed.url), { ES_API_KEY: apiKey });
  t.is(good.exitCode, 0, good.stdout);
  t.regex(good.stdout, /^ok {4}siem +elastic process\.pid: long \(or absent\) in 1 index\(es\)/m);
});
