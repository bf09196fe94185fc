import test from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLabSimulator } from '../../src/lab/simulator.js';
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
  t.regex(result.stdout, /^ok {4}config +scenarios: 9 valid$/m);
  for (const text of [missing.stdout, result.stdout, result.stderr]) {
    t.false(text.includes(password));
    t.false(text.includes('tok-123456'));
  }
  // Nothing ran on the host: doctor stops at the SSH handshake.
  t.deepEqual(lab.host.activity, []);
  t.deepEqual(other.host.activity, []);
});
