import test from 'ava';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** A loopback TCP port that counts every connection made to it: a target that must never be contacted. */
async function tripwire(t: {
  teardown(fn: () => Promise<void>): void;
}): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((socket) => {
    hits += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, hits: () => hits };
}

test('plan shows what would run where, the INF and the queries, and contacts no host and no SIEM', async (t) => {
  const cwd = tempDir(t);
  const hostA = await tripwire(t);
  const hostB = await tripwire(t);
  const siem = await tripwire(t);
  writeFileSync(
    join(cwd, 'harness.yaml'),
    [
      'lab:',
      '  hosts:',
      ...[
        ['WIN10-LAB-01', hostA.port],
        ['WIN11-LAB-02', hostB.port],
      ].flatMap(([name, port]) => [
        `    - name: ${String(name)}`,
        '      address: 127.0.0.1',
        `      port: ${String(port)}`,
        '      username: labadmin',
        '      hostKeySha256: "SHA256:GXEWOvFW1mZwXzGRRPCUNWhektsBSgX91+M263I/4w8"',
        // The variable is not even set: plan reads no secrets.
        '      passwordEnv: NOT_SET_LAB_PASSWORD',
        '      lab: true',
      ]),
      'siem:',
      '  type: splunk',
      `  url: https://127.0.0.1:${String(siem.port)}`,
      '  tokenEnv: NOT_SET_SPLUNK_TOKEN',
      '',
    ].join('\n'),
  );

  const result = await runCli(['plan', '--config', 'harness.yaml'], { cwd });
  const json = await runCli(['plan', '--config', 'harness.yaml', '--json', '--shard', '2/3'], { cwd });

  t.is(result.exitCode, 0, result.stderr);
  // Every built-in scenario on each of the two hosts.
  const pairs = readdirSync(builtinScenariosDir()).filter((f) => f.endsWith('.yaml')).length * 2;
  t.true(
    result.stdout.includes(
      `plan: ${String(pairs)} scenario x host pair(s) on the configured lab, SIEM splunk; nothing is contacted\n`,
    ),
    result.stdout.slice(0, 200),
  );
  t.true(result.stdout.includes('over SSH (Windows OpenSSH), into Splunk (Enterprise Security notables)\n'));
  t.regex(result.stdout, /^## cmstp-local-inf-presetup on WIN11-LAB-02 \(127\.0\.0\.1:\d+\)$/m);
  t.regex(result.stdout, /^ {2}\| \[version\]$/m);
  t.regex(result.stdout, /^ {2}query: search index=/m);
  t.is(json.exitCode, 0, json.stderr);
  const planned = JSON.parse(json.stdout) as { pairs: { shard: number }[] };
  // A third of the pairs, give or take the remainder.
  t.true([Math.floor(pairs / 3), Math.ceil(pairs / 3)].includes(planned.pairs.length));
  t.true(planned.pairs.every((p) => p.shard === 2));
  t.is(hostA.hits() + hostB.hits() + siem.hits(), 0, 'plan contacted a target');
});

test("the config's defaults pick the scenarios when the command line names none; flags still win", async (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'purple-harness.config.yaml'),
    `defaults:\n  scenarios: [${join(repoRoot, 'builtin-scenarios', 'cmstp-all-users-au.yaml')}]\n  preflight: strict\n`,
  );

  const fromConfig = await runCli(['plan', '--json'], { cwd });
  const fromFlag = await runCli(
    ['plan', '--json', join(repoRoot, 'builtin-scenarios', 'cmstp-local-inf-presetup.yaml')],
    { cwd },
  );

  const ids = (text: string) =>
    (JSON.parse(text) as { pairs: { scenario: string }[] }).pairs.map((p) => p.scenario);
  t.deepEqual(ids(fromConfig.stdout), ['cmstp-all-users-au']);
  t.deepEqual(ids(fromFlag.stdout), ['cmstp-local-inf-presetup']);
});
