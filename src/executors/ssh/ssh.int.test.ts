import test from 'ava';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ExecError } from '../../core/index.js';
import { renderEmulation } from '../../render/render.js';
import { loadScenariosOrThrow } from '../../scenario/load.js';
import { builtinScenariosDir } from '../../util/paths.js';
import { testExecutor } from '../../../test/contracts/executor.js';
import { sshFixture } from '../../../test/helpers/ssh-fixture.js';
import { pluginContext, startTestLab, type TestLab } from '../../../test/helpers/lab.js';
import { SshExecutorOptions } from './schema.js';
import { encodeCommand, fitsCmdLine } from './powershell.js';
import { create as createSshExecutor } from './executor.js';

const [scenario] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
if (!scenario) throw new Error('built-in scenario missing');
const rendered = (marker: string) => renderEmulation(scenario, { marker });

function executor(options: Record<string, unknown> = {}, secrets = new Set<string>()) {
  return createSshExecutor(SshExecutorOptions.parse(options), pluginContext({}, secrets));
}

/** PowerShell process starts the lab's SIEM recorded in the last minute (the harness's own scaffolding). */
async function powershellStarts(lab: TestLab): Promise<string[]> {
  await lab.lab.flush();
  const now = Date.now();
  const window = { since: new Date(now - 60_000), until: new Date(now + 60_000) };
  const found = await lab.siem.findTelemetry({
    host: 'WIN10-LAB-01',
    marker: 'unused',
    bindings: {},
    processWindow: window,
    ...window,
    signals: [
      {
        // A probe for the harness's own PowerShell starts, under a signal's id.
        id: 'cmstp-exec',
        correlation: 'window',
        telemetry: [{ eventIds: [1], match: { Image: { op: 'endswith', value: '\\powershell.exe' } } }],
      },
    ],
  });
  return (found.get('cmstp-exec') ?? []).map((e) => String(e.fields.CommandLine));
}

testExecutor('executors/ssh against the lab simulator', sshFixture);

test('the host receives exactly the script sent, as UTF-16LE -EncodedCommand through cmd.exe', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const op = rendered('phencoding0001').operations.preflight;
  const session = await executor().open(lab.host);
  t.teardown(() => session.close());

  await session.run(op);

  const [commandLine = ''] = await powershellStarts(lab);
  t.is(commandLine, encodeCommand(op.script));
  const b64 = commandLine.split(' ').at(-1) ?? '';
  t.is(Buffer.from(b64, 'base64').toString('utf16le'), op.script);
});

test('a host key other than the pinned one is refused, naming both fingerprints', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const wrong = `SHA256:${'A'.repeat(43)}`;

  const error = await t.throwsAsync(executor().open({ ...lab.host, hostKeySha256: wrong }), {
    instanceOf: ExecError,
  });

  t.is(error.code, 'E_EXEC_HOST_KEY');
  t.true(error.message.includes(wrong));
  t.true(error.message.includes(lab.host.hostKeySha256 ?? 'none'));
});

test('a wrong password fails with a hint, and the password never appears in the message', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const password = 'wrong-password-1234567';

  const error = await t.throwsAsync(
    executor({}, new Set([password])).open({ ...lab.host, auth: { password } }),
    { instanceOf: ExecError },
  );

  t.is(error.code, 'E_EXEC_CONNECT');
  t.truthy(error.hint);
  t.false(error.message.includes(password));
});

test('an operation that hangs is cut off by the watchdog, and the session reconnects for the next one', async (t) => {
  const lab = await startTestLab({ hangOperations: ['snapshot'] });
  t.teardown(() => lab.close());
  const ops = rendered('phwatchdog0001').operations;
  const session = await executor().open(lab.host);
  t.teardown(() => session.close());

  const hung = await session.run({ ...ops.snapshot, timeoutMs: 300 });
  const next = await session.run(ops.preflight);

  t.true(hung.timedOut);
  t.is(hung.exitCode, null);
  t.is(next.exitCode, 0);
  t.like(next.frame, { ok: true });
});

test("a script over cmd.exe's line limit goes up as a .ps1, runs with -File, and is removed", async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const base = rendered('phlongscript01').operations.preflight;
  // Padding in a comment keeps the script's meaning and pushes it past ~3,000 characters.
  const long = { ...base, script: `${base.script}\n# ${'padding '.repeat(600)}\n` };
  const session = await executor().open(lab.host);
  t.teardown(() => session.close());

  t.false(fitsCmdLine(encodeCommand(long.script)));
  const result = await session.run(long);
  const starts = await powershellStarts(lab);

  t.is(result.exitCode, 0);
  t.like(result.frame, { ok: true });
  t.is(starts.length, 1);
  t.regex(starts[0] ?? '', /-File "C:\\ProgramData\\purple-harness\\ops\\preflight-[0-9a-f]{12}\.ps1"$/);
  t.deepEqual(lab.lab.host.drive.list('C:\\ProgramData\\purple-harness\\ops'), []);
});

test('fault knobs apply to uploaded .ps1 operations too: a hung -File script is cut off by the watchdog', async (t) => {
  const lab = await startTestLab({ hangOperations: ['preflight'] });
  t.teardown(() => lab.close());
  const base = rendered('phlongscript02').operations.preflight;
  const long = { ...base, timeoutMs: 300, script: `${base.script}\n# ${'padding '.repeat(600)}\n` };
  const session = await executor().open(lab.host);
  t.teardown(() => session.close());

  const result = await session.run(long);

  t.false(fitsCmdLine(encodeCommand(long.script)));
  t.true(result.timedOut);
  t.is(result.exitCode, null);
});

test('a host that never completes the handshake is a connection error, never a crash from the second error ssh2 emits', async (t) => {
  // Accepts TCP, says nothing, then drops the socket after the ready timeout: ssh2 emits "Timed out while
  // waiting for handshake" and then "Connection lost before handshake". An unhandled second error would
  // take the whole process down (seen under load in the every-scenario test).
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    setTimeout(() => socket.destroy(), 400);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  const error = await t.throwsAsync(
    executor({ readyTimeoutMs: 150 }).open({ ...lab.host, address: '127.0.0.1', port }),
    { instanceOf: ExecError },
  );
  t.is(error.code, 'E_EXEC_CONNECT');
  t.regex(error.message, /Timed out while waiting for handshake/);
  // The socket closes after the timeout; the second error must land on a listener.
  await new Promise((resolve) => setTimeout(resolve, 700));
});
