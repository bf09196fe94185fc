import test from 'ava';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { runEmulation } from '../../src/execute/run-emulation.js';
import { sshExecutor } from '../../src/executors/ssh/index.js';
import { SshExecutorOptions } from '../../src/executors/ssh/schema.js';
import { newMarker, realSleep, silentLogger, systemClock, type Executor } from '../../src/core/index.js';
import type { LabSimulatorOptions } from '../../src/lab/simulator.js';
import { localSchedule } from '../../src/poll/poll.js';
import { pollSignals } from '../../src/poll/run-poller.js';
import { renderEmulation } from '../../src/render/render.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { signalCatalog } from '../../src/signals/catalog.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { pluginContext, runOnLab, startTestLab } from '../helpers/lab.js';

const [loaded] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
if (!loaded) throw new Error('built-in scenario missing');
const scenario = loaded;

async function emulate(t: ExecutionContext, knobs: Partial<Omit<LabSimulatorOptions, 'hec' | 'password'>>) {
  const lab = await startTestLab(knobs);
  t.teardown(() => lab.close());
  const marker = newMarker();
  const rendered = renderEmulation(scenario, { marker });
  const ctx = {
    clock: systemClock,
    logger: silentLogger,
    signal: new AbortController().signal,
    secrets: new Set<string>(),
  };
  const execution = await runEmulation(
    (await sshExecutor.load()).create(SshExecutorOptions.parse({}), pluginContext()),
    lab.host,
    rendered,
    ctx,
  );
  return { lab, marker, rendered, execution, ctx };
}

test('a session that drops mid-exec leaves run-cmstp unproven: the execution is not "executed", and clean-up still runs', async (t) => {
  const { execution } = await emulate(t, { dropSessionOn: ['run-cmstp'] });

  t.not(execution.status, 'executed');
  t.false(execution.progress.started);
  t.like(
    execution.steps.find((s) => s.step === 'run-cmstp'),
    { ok: false, exitCode: null },
  );
  t.true(execution.cleanup.ran);
  t.true(execution.cleanup.verified, execution.cleanup.residue.join(', '));
});

test('a delayed signal arrives late but within its deadline, and its latency shows the delay', async (t) => {
  const { lab, marker, execution, ctx } = await emulate(t, {
    delaySignals: { 'child-process': 1500 },
  });
  const start = Date.parse(execution.cmstp?.startedAt ?? '');

  const { signals: observations } = await pollSignals(
    {
      connector: lab.siem,
      host: 'WIN10-LAB-01',
      marker,
      bindings: {
        marker,
        payloadFile: `${marker}.inf`,
        cmstpPid: String(execution.cmstp?.pid),
        payloadHost: 'none',
        payloadIp: 'none',
        payloadPort: 'none',
      },
      processWindow: { since: new Date(start - 500), until: new Date(start + 5000) },
      since: new Date(start - 60_000),
      evidenceUntil: null,
      canary: null,
      signals: [
        { definition: signalCatalog['cmstp-exec'], expectation: { signal: 'cmstp-exec', captured: true } },
        {
          definition: signalCatalog['child-process'],
          expectation: { signal: 'child-process', captured: true },
        },
      ],
      captureTimeoutMs: 10_000,
      detectTimeoutMs: 1000,
      schedule: localSchedule,
    },
    { ...ctx, sleep: realSleep },
  );

  const cmstp = Date.parse(observations.get('cmstp-exec')?.firstSeenAt ?? '');
  const child = Date.parse(observations.get('child-process')?.firstSeenAt ?? '');
  t.true(child - cmstp >= 1000, `child seen ${child - cmstp} ms after cmstp`);
});

const faults: [string, Partial<Omit<LabSimulatorOptions, 'hec' | 'password'>>, RegExp][] = [
  ['the connection drops mid-exec', { dropSessionOn: ['run-cmstp'] }, /run-cmstp/],
  ['cmstp hangs', { hangOperations: ['run-cmstp'] }, /timed out/],
  ['the exit status is never sent', { omitExitStatusOn: ['run-cmstp'] }, /no exit status from the host/],
];

for (const [name, knobs, reason] of faults) {
  test(`fault: ${name}: the documented status, clean-up ran, evidence kept, and no verdict passed`, async (t) => {
    const scenarioWithShortExecute = knobs.hangOperations
      ? { ...scenario, spec: { ...scenario.spec, timeouts: { ...scenario.spec.timeouts, execute: 300 } } }
      : scenario;
    const lab = await startTestLab(knobs);
    t.teardown(() => lab.close());

    const run = await runOnLab({ scenarios: [scenarioWithShortExecute], hosts: [lab.host], siem: lab.siem });

    const [result] = run.results;
    t.not(run.status, 'passed');
    t.not(result?.execution?.status, 'executed');
    t.regex(result?.execution?.reason ?? '', reason);
    t.true(result?.execution?.cleanup.ran);
    t.true((result?.execution?.steps.length ?? 0) >= 4, 'the steps up to the fault are kept');
    t.false(result?.signals.some((s) => s.verdict === 'pass'));
  });
}

test('fault: authentication refused: an infrastructure error, nothing ran, no verdict passed', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  const run = await runOnLab({
    scenarios: [scenario],
    hosts: [{ ...lab.host, auth: { password: 'not-the-password' } }],
    siem: lab.siem,
  });

  t.is(run.status, 'error');
  t.regex(run.results[0]?.execution?.reason ?? '', /authentication methods failed/);
  t.true(run.results[0]?.signals.every((s) => s.verdict === 'inconclusive'));
});

test('the stop file: no new step starts, clean-up still runs, nothing passes', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());

  const run = await runOnLab({
    scenarios: [scenario],
    hosts: [lab.host],
    siem: lab.siem,
    shouldStop: () => true,
  });

  t.is(run.results.length, 0, 'no scenario starts once the stop file is present');
  t.is(run.status, 'incomplete', 'a run that evaluated nothing is never passed');
  t.regex(run.notRun[0]?.reason ?? '', /stop file/);
});

test('the stop file appearing mid-run stops the remaining steps but runs clean-up', async (t) => {
  let stepsSeen = 0;
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const rendered = renderEmulation(scenario, { marker: newMarker() });

  const execution = await runEmulation(
    (await sshExecutor.load()).create(SshExecutorOptions.parse({}), pluginContext()),
    lab.host,
    rendered,
    {
      clock: systemClock,
      logger: silentLogger,
      signal: new AbortController().signal,
      secrets: new Set<string>(),
      // secure-folder, lock-host, preflight, canary and snapshot-before go ahead; the stop file appears
      // before staging.
      shouldStop: () => (stepsSeen += 1) > 5,
    },
  );

  t.not(execution.status, 'executed');
  t.regex(execution.reason, /stop file/);
  t.true(execution.cleanup.ran);
  t.true(execution.cleanup.verified, execution.cleanup.residue.join(', '));
  t.false(execution.progress.started);
});

test('leftovers after clean-up give the scenario the status cleanup-failed, with the list', async (t) => {
  // The clean-up operation's connection drops before it can report, so nothing proves the host is clean.
  const lab = await startTestLab({ dropSessionOn: ['cleanup'] });
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: [scenario], hosts: [lab.host], siem: lab.siem });

  const [result] = run.results;
  t.is(result?.status, 'cleanup-failed');
  t.is(run.status, 'cleanup-failed');
  t.false(result?.execution?.cleanup.verified);
  t.true((result?.execution?.cleanup.residue.length ?? 0) > 0);
});

test('fault: output that trickles in a few bytes at a time is reassembled, and the run passes', async (t) => {
  const lab = await startTestLab({ slowOutputOn: ['preflight', 'snapshot', 'run-cmstp', 'cleanup'] });
  t.teardown(() => lab.close());

  const run = await runOnLab({ scenarios: [scenario], hosts: [lab.host], siem: lab.siem });

  t.is(run.status, 'passed');
  t.true(run.results[0]?.execution?.cleanup.verified);
});

test('a process carrying the marker that outlives cmstp is recorded with the run, and clean-up kills it', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const marker = newMarker();
  const host = lab.lab.host;
  // Stands in for a payload child that did not exit (the benign catalogue's own children always do).
  const lingering = host.processes.spawn({
    image: 'C:\\Windows\\System32\\notepad.exe',
    commandLine: `notepad.exe C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.txt`,
    parent: null,
    user: host.user,
    integrityLevel: 'High',
    currentDirectory: 'C:\\',
  });

  const execution = await runEmulation(
    (await sshExecutor.load()).create(SshExecutorOptions.parse({}), pluginContext()),
    lab.host,
    renderEmulation(scenario, { marker }),
    { clock: systemClock, logger: silentLogger, signal: new AbortController().signal, secrets: new Set() },
  );

  t.deepEqual(execution.cmstp?.markerProcesses, [{ pid: lingering.pid, parentPid: 0, name: 'notepad.exe' }]);
  t.true(execution.cleanup.removed.includes(`process:${String(lingering.pid)}:notepad.exe`));
  t.false(lingering.running);
  t.true(execution.cleanup.verified, execution.cleanup.residue.join(', '));
});

test('#14.15 a failed snapshot after the run still leaves uninstall and removal attempted: the INF and marker file are gone', async (t) => {
  // The second snapshot (after the run, before clean-up) never sends its exit status.
  const { lab, rendered, execution } = await emulate(t, { omitExitStatusOn: ['snapshot#2'] });

  const steps = execution.steps.map((s) => `${s.step}:${String(s.ok)}`);
  t.true(steps.includes('snapshot-after-run:false'), steps.join(' '));
  t.true(steps.includes('uninstall-profile:true'), steps.join(' '));
  t.true(steps.includes('cleanup:true'), steps.join(' '));
  t.true(steps.includes('snapshot-after-cleanup:true'), steps.join(' '));
  t.false(lab.lab.host.drive.exists(rendered.runDir), 'the run folder (INF, marker file) was removed');
  t.false(
    lab.lab.host.processes.running().some((p) => p.commandLine.includes(rendered.marker)),
    'no marker process left',
  );
  // Whatever could not be removed without the snapshot's list is reported, never called clean.
  if (!execution.cleanup.verified) t.true(execution.cleanup.residue.length > 0);
});

test('#14.15 a host clock reading that does not parse never skips clean-up', async (t) => {
  const { lab, rendered, execution } = await emulate(t, { clockReading: 'Thursday, sometime' });

  t.true(execution.cleanup.ran);
  t.true(execution.cleanup.verified, execution.cleanup.residue.join(', '));
  t.truthy(execution.cleanup.startedAt);
  t.false(lab.lab.host.drive.exists(rendered.runDir));
  t.is(execution.facts?.sensors?.clockSkewMs, 0);
});

// #19: an interrupt during the emulation starts no further step (run-cmstp never runs once the payload is
// staged), while clean-up, which gets no abort signal, still runs and proves the host clean.
test('Ctrl-C once the payload is staged: cmstp never runs, clean-up still runs and is verified', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const controller = new AbortController();
  const inner = (await sshExecutor.load()).create(SshExecutorOptions.parse({}), pluginContext());
  const interruptingAfterUpload: Executor = {
    open: async (host, signal) => {
      const session = await inner.open(host, signal);
      return {
        hostKeySha256: session.hostKeySha256,
        upload: async (path, content) => {
          await session.upload(path, content);
          controller.abort();
        },
        run: (operation, runSignal) => session.run(operation, runSignal),
        close: () => session.close(),
      };
    },
  };
  const execution = await runEmulation(
    interruptingAfterUpload,
    lab.host,
    renderEmulation(scenario, { marker: newMarker() }),
    { clock: systemClock, logger: silentLogger, signal: controller.signal, secrets: new Set<string>() },
  );

  t.true(controller.signal.aborted);
  t.false(execution.progress.started, JSON.stringify(execution.steps.map((s) => [s.step, s.ok])));
  t.falsy(execution.steps.find((s) => s.step === 'run-cmstp')?.ok);
  t.true(execution.cleanup.ran);
  t.true(execution.cleanup.verified, execution.cleanup.residue.join(', '));
});
