import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecError, type HostTarget, type RemoteOperation } from '../../core/index.js';
import { testExecutor } from '../../../test/contracts/executor.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { realSshdUnavailable, startRealSshd, type RealSshd } from '../../../test/helpers/real-sshd.js';
import { probeHostKey } from './executor.js';
import { cmdLineLimit, scriptsDir } from './powershell.js';
import { SshExecutorOptions } from './schema.js';
import { create as createSshExecutor } from './executor.js';

/*
 * The transport against Debian's OpenSSH sshd, a server we did not write. Its test user's shell runs the
 * decoded script with bash, so the operations below are bash where the product sends PowerShell; what is
 * under test is everything around the script: auth, host keys, SFTP, exit codes, framing and timeouts.
 *
 * CI installs openssh-server and runs as root, and sets PURPLE_HARNESS_REQUIRE_SSHD=1 so these tests can
 * never be skipped there. Elsewhere, without sshd or root, they are reported as skipped with the reason.
 */
const unavailable = realSshdUnavailable();
const required = process.env.PURPLE_HARNESS_REQUIRE_SSHD === '1';

/** bash that prints one `PHRESULT:` frame, as the PowerShell prelude does. */
function framed(json: string, exitCode = 0): string {
  return `printf 'PHRESULT:%s\\n' "$(printf '%s' '${json}' | base64 -w0)"\nexit ${exitCode}\n`;
}

function op(name: string, script: string, timeoutMs = 10_000): RemoteOperation {
  return { name, script, timeoutMs };
}

/** Lists a Windows path on the target as the snapshot operation does: `dir:` then `file:` items. */
function listOperation(dir: string): RemoteOperation {
  const unix = `/${dir.replace(/\\/g, '/')}`;
  return op(
    'list',
    [
      `win() { printf '%s' "$1" | sed -e 's|^/||' -e 's|/|\\\\\\\\|g'; }`,
      `items="\\"dir:$(win '${unix}')\\""`,
      `for f in '${unix}'/*; do [ -e "$f" ] && items="$items,\\"file:$(win "$f")\\""; done`,
      `json="{\\"ok\\":true,\\"items\\":[$items]}"`,
      `printf 'PHRESULT:%s\\n' "$(printf '%s' "$json" | base64 -w0)"`,
    ].join('\n'),
  );
}

function executor(secrets = new Set<string>(), options: Record<string, unknown> = {}) {
  return createSshExecutor(SshExecutorOptions.parse(options), pluginContext({}, secrets));
}

function target(sshd: RealSshd, overrides: Partial<HostTarget> = {}): HostTarget {
  return {
    name: 'real-sshd',
    address: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    hostKeySha256: sshd.hostKeySha256,
    auth: { privateKey: sshd.privateKey },
    simulated: false,
    ...overrides,
  };
}

if (unavailable !== null && !required) {
  test.skip(`real sshd transport tests skipped: ${unavailable}`, () => {});
} else {
  const sshd = await startRealSshd();
  test.after.always(() => sshd.stop());

  testExecutor('executors/ssh against a real OpenSSH sshd', () =>
    Promise.resolve({
      executor: executor(),
      host: target(sshd),
      okOperation: op('ok', framed('{"ok":true}')),
      failingOperation: op('fail', 'echo "something went wrong" >&2\nexit 3\n'),
      listOperation,
      close: () => Promise.resolve(),
    }),
  );

  test('real sshd: key auth, and the host key pinned in the format ssh-keygen prints', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    t.is(session.hostKeySha256, sshd.hostKeySha256);
    const result = await session.run(op('whoami', framed('{"ok":true}')));
    t.is(result.exitCode, 0);
  });

  test('real sshd: password auth works, and a wrong password is refused without echoing it', async (t) => {
    const good = await executor(new Set([sshd.password])).open(
      target(sshd, { auth: { password: sshd.password } }),
    );
    t.teardown(() => good.close());
    t.is((await good.run(op('ok', framed('{"ok":true}')))).exitCode, 0);

    const wrong = `${sshd.password}-wrong`;
    const error = await t.throwsAsync(
      executor(new Set([wrong])).open(target(sshd, { auth: { password: wrong } })),
      { instanceOf: ExecError },
    );
    t.is(error.code, 'E_EXEC_CONNECT');
    t.regex(error.message, /\[executor:ssh\] cannot connect to real-sshd/);
    t.false(`${error.message} ${error.hint ?? ''}`.includes(wrong));
    t.regex(error.hint ?? '', /credential/);
  });

  test('real sshd: a host key other than the pinned one is refused, naming both fingerprints', async (t) => {
    const pinned = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const error = await t.throwsAsync(executor().open(target(sshd, { hostKeySha256: pinned })), {
      instanceOf: ExecError,
    });
    t.is(error.code, 'E_EXEC_HOST_KEY');
    t.true(error.message.includes(pinned));
    t.true(error.message.includes(sshd.hostKeySha256));
  });

  test('real sshd: the trust probe learns the key sshd presents, without authenticating', async (t) => {
    const host = target(sshd);
    t.is(await probeHostKey(host.address, host.port, 10_000), sshd.hostKeySha256);
  });

  test('real sshd: an unpinned host is never authenticated to', async (t) => {
    await t.throwsAsync(executor().open(target(sshd, { hostKeySha256: null })));
  });

  test('real sshd: exit codes come back as the process set them', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    for (const code of [0, 1, 7, 255]) {
      const result = await session.run(op(`exit-${String(code)}`, `exit ${String(code)}\n`));
      t.is(result.exitCode, code);
    }
  });

  test('real sshd: a process killed by a signal has no exit status, which is never read as success', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    const result = await session.run(
      op('killed', `${framed('{"ok":true}').split('\n')[0] ?? ''}\nkill -9 $$\n`),
    );
    t.is(result.exitCode, null);
    t.false(result.timedOut);
  });

  test('real sshd: stdout and stderr are both drained, however much each holds', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    const result = await session.run(
      op(
        'chatty',
        `head -c 300000 /dev/zero | tr '\\0' e >&2\nhead -c 300000 /dev/zero | tr '\\0' o\necho\n${framed('{"ok":true}', 4)}`,
      ),
    );
    t.is(result.exitCode, 4);
    t.like(result.frame, { ok: true });
    t.true(result.stdout.length > 300_000);
    t.is(result.stderr.length, 300_000);
  });

  test('real sshd: a step past its timeout is cut off, and the session reconnects for the next one', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    const started = Date.now();
    const hung = await session.run(op('hang', 'sleep 20\n', 400));
    t.true(hung.timedOut);
    t.is(hung.exitCode, null);
    t.is(hung.frame, null);
    t.true(Date.now() - started < 10_000);

    const next = await session.run(op('after', framed('{"ok":true}')));
    t.is(next.exitCode, 0);
    t.like(next.frame, { ok: true });
  });

  test('real sshd: a script over the command-line limit goes up by SFTP, runs with -File, and is removed', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    const padding = `# ${'x'.repeat(100)}\n`.repeat(Math.ceil(cmdLineLimit / 100));
    const result = await session.run(op('long', `${padding}${framed('{"ok":true,"long":true}')}`));
    t.is(result.exitCode, 0);
    t.like(result.frame, { ok: true, long: true });
    const uploads = join(sshd.root, ...scriptsDir.split('\\'));
    t.true(existsSync(uploads));
    t.deepEqual(readdirSync(uploads), []);
  });

  test('real sshd: an upload lands byte for byte at the /C:/ path sshd maps the Windows path to', async (t) => {
    const session = await executor().open(target(sshd));
    t.teardown(() => session.close());
    const inf = '[version]\r\nSignature=$chicago$\r\n; caf\u00e9\r\n';
    await session.upload('C:\\ProgramData\\purple-harness\\runs\\phupload0001\\phupload0001.inf', inf);
    const landed = readFileSync(
      join(sshd.root, 'C:', 'ProgramData', 'purple-harness', 'runs', 'phupload0001', 'phupload0001.inf'),
    );
    t.deepEqual(landed, Buffer.from(inf, 'latin1'));
  });
}
