import test from 'ava';
import { join } from 'node:path';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { countingHost } from '../helpers/counting-host.js';

// #18: the payload server is checked before any host is touched: configured when a real lab's scenarios
// need it, and able to listen where the config says.

const scriptlet = join(repoRoot, 'builtin-scenarios', 'cmstp-remote-scriptlet.yaml');

const env = { LAB_PASSWORD: 'x'.repeat(12), PURPLE_HARNESS_HEC_TOKEN: 'y'.repeat(20) };

test('#18 a real lab without a payload server is refused for scenarios that need one, before any host is contacted', async (t) => {
  const cwd = tempDir(t);
  const connections = await countingHost(t, cwd);

  const result = await runCli(['run', scriptlet, '--config', 'harness.yaml', '--reports-dir', 'reports'], {
    cwd,
    env,
  });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(
    result.stderr,
    /^Error: cmstp-remote-scriptlet serves a file to the lab hosts from the payload server, but the config has no payloadServer$/m,
  );
  t.regex(result.stderr, /^Hint: Add payloadServer to the config: bind .* and advertisedHost/m);
  t.is(connections(), 0);
});

test('#18 a payload server bind that is not an address of this machine is refused by doctor and by run, before any host', async (t) => {
  const cwd = tempDir(t);
  // 192.0.2.1 (TEST-NET-1) is no address of this machine: listening on it fails at once, and nothing is sent.
  const connections = await countingHost(t, cwd, {
    extra: 'payloadServer:\n  bind: 192.0.2.1\n  advertisedHost: 192.0.2.1\n',
  });

  const doctor = await runCli(['doctor', '--config', 'harness.yaml'], { cwd, env });
  // doctor itself connects to read the host key; run must not connect at all.
  const afterDoctor = connections();
  const run = await runCli(['run', scriptlet, '--config', 'harness.yaml', '--reports-dir', 'reports'], {
    cwd,
    env,
  });

  t.not(doctor.exitCode, 0);
  t.regex(
    doctor.stdout,
    /payload server: \[payload-server\] cannot listen on 192\.0\.2\.1:0: .*payloadServer\.bind 192\.0\.2\.1 is not an address of this machine/,
  );
  t.is(run.exitCode, 2, run.stderr);
  t.regex(run.stderr, /^Hint: payloadServer\.bind 192\.0\.2\.1 is not an address of this machine/m);
  t.is(connections(), afterDoctor);
});

test('#18 doctor warns when a real lab would be told the embedded lab payload name', async (t) => {
  const cwd = tempDir(t);
  await countingHost(t, cwd, { extra: 'payloadServer:\n  bind: 127.0.0.1\n' });

  const doctor = await runCli(['doctor', '--config', 'harness.yaml'], { cwd, env });

  t.regex(
    doctor.stdout,
    /payload server: can listen on 127\.0\.0\.1:0; note: payloadServer\.advertisedHost is payload\.lab\.test, the embedded lab's name/,
  );
});
