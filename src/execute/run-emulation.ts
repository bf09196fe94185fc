import type { z } from 'zod';
import type {
  CleanupRecord,
  ExecSession,
  Executor,
  ExecutionRecord,
  HostFacts,
  HostTarget,
  OperationResult,
  RemoteOperation,
  RenderedEmulation,
  RunContext,
  StepRecord,
} from '../core/index.js';
import { HarnessError, canaryText, errorMessage } from '../core/index.js';
import { redact } from '../util/redact.js';
import {
  CanaryFrame,
  CleanupFrame,
  FailedFrame,
  LockFrame,
  PreflightFrame,
  RunFrame,
  SecureFolderFrame,
  SnapshotFrame,
  UninstallFrame,
  UnlockFrame,
} from './frames.js';

/** Steps that undo or release: they run even once the operator's stop file is present. */
const finalSteps = new Set([
  'snapshot-after-run',
  'uninstall-profile',
  'cleanup',
  'snapshot-after-cleanup',
  'unlock-host',
]);

type Context = Pick<RunContext, 'clock' | 'logger' | 'signal' | 'secrets'> & {
  /** The operator's stop file: checked between steps; when set, the run goes straight to clean-up. */
  readonly shouldStop?: () => boolean;
  /** Judges preflight's facts; a returned reason stops the run before anything is staged. */
  readonly afterPreflight?: (facts: HostFacts) => string | null;
  /** Told the canary was written; a returned reason (e.g. it never reached the SIEM) stops the run. */
  readonly afterCanary?: (writtenAt: string, hostname: string) => Promise<string | null>;
};

class StepFailed extends Error {}

/**
 * One scenario on one host: preflight -> snapshot -> stage payload -> run cmstp -> clean up -> verify.
 * Clean-up runs whatever happened before it, and is proven by a second snapshot.
 */
export async function runEmulation(
  executor: Executor,
  host: HostTarget,
  rendered: RenderedEmulation,
  ctx: Context,
): Promise<ExecutionRecord> {
  const startedAt = ctx.clock.now().toISOString();
  const steps: StepRecord[] = [];
  const progress = { staged: false, started: false, payloadRan: false };
  let facts: HostFacts | null = null;
  let payload: ExecutionRecord['payload'] = null;
  let cmstp: ExecutionRecord['cmstp'] = null;
  let cleanup: CleanupRecord = {
    ran: false,
    verified: false,
    created: [],
    removed: [],
    residue: [],
    startedAt: null,
    uninstall: null,
  };
  let status: ExecutionRecord['status'] = 'executed';
  let reason: string;
  let session: ExecSession | null = null;
  let before: string[] | null = null;
  let locked = false;
  let canary: ExecutionRecord['canary'] = null;

  const record = (
    step: string,
    ok: boolean,
    started: Date,
    detail: string,
    result?: OperationResult,
  ): void => {
    steps.push({
      step,
      ok,
      startedAt: started.toISOString(),
      durationMs: result?.durationMs ?? ctx.clock.now().getTime() - started.getTime(),
      exitCode: result?.exitCode ?? null,
      timedOut: result?.timedOut ?? false,
      detail: redact(detail, ctx.secrets),
    });
  };

  /** Runs an operation and parses its frame; a failed frame or a missing one ends the step as failed. */
  const operate = async <S extends z.ZodType>(
    step: string,
    operation: RemoteOperation,
    schema: S,
  ): Promise<z.output<S>> => {
    const started = ctx.clock.now();
    if (!session) throw new StepFailed(`${step}: no session`);
    if (ctx.shouldStop?.() === true && !finalSteps.has(step)) {
      record(step, false, started, 'skipped: the stop file is present');
      throw new StepFailed(`${step}: stopped by the operator's stop file`);
    }
    // Undoing and releasing steps run even after Ctrl-C, so they are not given the run's abort signal.
    const result = await session.run(operation, finalSteps.has(step) ? undefined : ctx.signal);
    const parsed = schema.safeParse(result.frame);
    // A missing exit status means the host never confirmed the step finished: never read that as success.
    if (parsed.success && result.exitCode === null && !result.timedOut) {
      record(step, false, started, 'no exit status from the host', result);
      throw new StepFailed(`${step}: no exit status from the host`);
    }
    if (parsed.success) {
      record(step, true, started, `exit ${String(result.exitCode)}`, result);
      return parsed.data;
    }
    const failed = FailedFrame.safeParse(result.frame);
    const detail = result.timedOut
      ? `timed out after ${operation.timeoutMs} ms`
      : failed.success
        ? failed.data.error
        : `no valid result frame (exit ${String(result.exitCode)})${result.stderr ? `: ${result.stderr.slice(0, 500)}` : ''}`;
    record(step, false, started, detail, result);
    throw new StepFailed(`${step}: ${detail}`);
  };

  try {
    const opened = ctx.clock.now();
    session = await executor.open(host, ctx.signal);
    record('connect', true, opened, `${host.address}:${host.port} host key ${host.hostKeySha256}`);

    // Scripts and payloads uploaded to the working folder run elevated: it is the administrators' alone first.
    await operate('secure-folder', rendered.operations.secureFolder, SecureFolderFrame);

    const lock = await operate('lock-host', rendered.operations.lock, LockFrame);
    if (!lock.acquired) {
      const by = lock.holder
        ? `run ${lock.holder.marker} since ${lock.holder.acquiredUtc} (expires ${lock.holder.expiresUtc})`
        : 'another run';
      throw new StepFailed(`host busy: ${host.name} is locked by ${by}; nothing was run`);
    }
    locked = true;

    const asked = ctx.clock.now().getTime();
    const pre = await operate('preflight', rendered.operations.preflight, PreflightFrame);
    const answered = ctx.clock.now().getTime();
    facts = {
      hostname: pre.hostname,
      user: pre.user,
      integrityLevel: pre.integrityLevel,
      os: pre.os,
      powershell: pre.powershell,
      sshServer: pre.sshServer,
      sensors: pre.sensors
        ? {
            sysmonRunning: pre.sensors.sysmonRunning,
            sysmonEventTypes: pre.sensors.sysmonEventTypes,
            security4688: pre.sensors.security4688,
            security4688CommandLine: pre.sensors.security4688CommandLine,
            forwarders: pre.sensors.forwarders,
            freeDiskBytes: pre.sensors.freeDiskBytes,
            // The host read its clock somewhere between asking and answering; the midpoint errs by RTT/2 at most.
            clockSkewMs: skewOf(pre.sensors.utcNow, Math.round((asked + answered) / 2), ctx),
          }
        : null,
    };
    if (!pre.cmstpPresent) throw new StepFailed('preflight: cmstp.exe is not present on the host');
    const refusal = ctx.afterPreflight?.(facts) ?? null;
    if (refusal !== null) throw new StepFailed(`preflight: ${refusal}`);

    // The canary is evidence about the pipeline, not a step the run needs: a failure to write it is kept in
    // the steps, and the signals are then judged without that proof.
    try {
      const written = await operate('canary', rendered.operations.canary, CanaryFrame);
      canary = { text: canaryText(rendered.marker), writtenAt: written.writtenUtc };
    } catch (error) {
      if (!(error instanceof StepFailed) || ctx.shouldStop?.() === true) throw error;
      ctx.logger.warn(`the pipeline canary could not be written: ${error.message}`);
    }
    if (canary !== null && ctx.afterCanary) {
      const unproven = await ctx.afterCanary(canary.writtenAt, facts.hostname);
      if (unproven !== null) throw new StepFailed(`preflight: ${unproven}`);
    }

    before = (await operate('snapshot-before', rendered.operations.snapshot, SnapshotFrame)).items;

    // A direct COM call stages nothing; everything else uploads its payload first.
    const staged = rendered.payload;
    if (staged) {
      const uploaded = ctx.clock.now();
      await session.upload(staged.remotePath, staged.content);
      record('stage-payload', true, uploaded, `${staged.remotePath} sha256 ${staged.sha256}`);
      payload = { remotePath: staged.remotePath, sha256: staged.sha256 };
    }
    const sct = rendered.stagedScriptlet;
    if (sct) {
      const uploaded = ctx.clock.now();
      await session.upload(sct.remotePath, sct.content);
      record('stage-scriptlet', true, uploaded, `${sct.remotePath} sha256 ${sct.sha256}`);
    }
    progress.staged = true;

    const run = await operate(rendered.operations.run.name, rendered.operations.run, RunFrame);
    progress.started = true;
    cmstp = {
      commandLine: rendered.cmstpCommandLine,
      pid: run.pid,
      exitCode: run.exitCode,
      timedOut: run.timedOut,
      startedAt: run.startUtc,
      endedAt: run.endUtc,
      markerProcesses: run.markerProcesses,
    };
    if (staged && run.payloadSha256 !== staged.sha256) {
      throw new StepFailed(`the payload on the host (sha256 ${run.payloadSha256}) is not the one staged`);
    }
    const cleanExit = run.exitCode === 0 && !run.timedOut;
    progress.payloadRan =
      rendered.payloadEvidence === 'marker-file'
        ? run.markerFound
        : rendered.payloadEvidence === 'exit-code' && cleanExit;
    const killed = 'cmstp.exe did not exit on its own within the execute timeout and was killed';
    if (rendered.payloadEvidence === 'started') {
      // Without /s cmstp asks for confirmation first; on the SSH session nobody can answer, so it runs
      // nothing and waits. Given an INF by URL, nothing after its start is known to happen. Its start is
      // what the scenario tests; how it ended is said.
      status = run.pid > 0 ? 'executed' : 'failed';
      const byUrl = rendered.servedInf !== null;
      reason =
        run.pid <= 0
          ? 'cmstp.exe did not start'
          : byUrl
            ? `cmstp.exe started with the INF's URL and ${run.timedOut ? 'was killed at the execute timeout' : `exited with ${String(run.exitCode)}`}; only its start can be proven for this form`
            : run.timedOut
              ? 'cmstp.exe started and, without /s, waited for its confirmation dialog (nobody can answer it over SSH) until it was killed at the execute timeout, as expected'
              : `cmstp.exe started and, without /s, exited on its own with ${String(run.exitCode)}`;
    } else if (rendered.payloadEvidence === 'none') {
      status = cleanExit ? 'executed' : 'failed';
      reason = cleanExit
        ? 'cmstp ran and exited 0 (no payload command, by design)'
        : run.timedOut
          ? killed
          : `cmstp.exe exited with ${String(run.exitCode)}`;
    } else if (!progress.payloadRan) {
      status = 'failed';
      reason = run.timedOut
        ? killed
        : rendered.payloadEvidence === 'marker-file'
          ? `the payload's marker file was not written (cmstp exit code ${String(run.exitCode)})`
          : `cmstp.exe exited with ${String(run.exitCode)}`;
    } else {
      // The marker proves the payload ran whatever cmstp did next; how cmstp ended is said, not hidden.
      reason =
        rendered.payloadEvidence === 'marker-file'
          ? `cmstp ran and the payload wrote its marker file${run.timedOut ? `; ${killed}` : run.exitCode === 0 ? '' : `; cmstp.exe then exited with ${String(run.exitCode)}`}`
          : 'cmstp ran and exited 0';
    }
  } catch (error) {
    if (error instanceof HarnessError && error.code === 'E_INTERRUPTED') {
      status = 'error';
      reason = 'interrupted';
    } else if (error instanceof StepFailed) {
      status = progress.started ? 'failed' : 'error';
      reason = error.message;
    } else {
      status = 'error';
      reason = errorMessage(error);
      if (!session) record('connect', false, ctx.clock.now(), reason);
    }
  } finally {
    // Before the first snapshot only read-only steps ran (connect, preflight): nothing to clean up.
    if (session && before !== null)
      cleanup = await cleanUp(rendered, before, operate, facts?.sensors?.clockSkewMs ?? 0, ctx);
    if (session && locked) {
      try {
        await operate('unlock-host', rendered.operations.unlock, UnlockFrame);
      } catch (error) {
        // An unreleased lock expires on its own (its TTL), and `purple-harness cleanup --marker` removes it.
        ctx.logger.warn(`the host lock was not released: ${errorMessage(error)}`);
      }
    }
    await session?.close();
  }
  return {
    status,
    reason: redact(reason, ctx.secrets),
    progress,
    startedAt,
    endedAt: ctx.clock.now().toISOString(),
    facts,
    payload,
    cmstp,
    steps,
    cleanup,
    canary,
    payloadFetches: [],
  };
}

/** The host clock's offset from ours; a clock string that does not parse counts as no skew, and says so. */
function skewOf(hostUtc: string, ours: number, ctx: Pick<Context, 'logger'>): number {
  const skew = Date.parse(hostUtc) - ours;
  if (Number.isFinite(skew)) return skew;
  ctx.logger.warn(`the host's clock reading "${hostUtc}" does not parse as a time: clock skew taken as 0`);
  return 0;
}

/** Runs one clean-up step; a failure is logged and returned as a note, and the steps after it still run. */
async function attempt<T>(
  what: string,
  step: () => Promise<T>,
  ctx: Pick<Context, 'logger'>,
): Promise<{ readonly value: T; readonly note: null } | { readonly value: null; readonly note: string }> {
  try {
    return { value: await step(), note: null };
  } catch (error) {
    const note = `${what} did not complete: ${errorMessage(error)}`;
    ctx.logger.warn(note);
    return { value: null, note };
  }
}

async function cleanUp(
  rendered: RenderedEmulation,
  before: readonly string[],
  operate: <S extends z.ZodType>(step: string, operation: RemoteOperation, schema: S) => Promise<z.output<S>>,
  skewMs: number,
  ctx: Pick<Context, 'logger' | 'clock'>,
): Promise<CleanupRecord> {
  const baseline = new Set(before);
  // Every step is attempted whatever failed before it: a failed snapshot or an odd host clock never leaves
  // the INF, the marker file or the profile behind untried. The final snapshot alone judges what is left.
  const after = await attempt(
    'the snapshot after the run',
    async () => (await operate('snapshot-after-run', rendered.operations.snapshot, SnapshotFrame)).items,
    ctx,
  );
  const created = (after.value ?? []).filter((item) => !baseline.has(item));
  // Keys that existed before the run belong to someone else and stay; with no snapshot, none is removed.
  const createdKeys = created.filter((item) => item.startsWith('key:')).map((item) => item.slice(4));
  // If clean-up never reports its start, the moment it was sent (on the target's clock, as far as preflight's
  // skew tells) stands in, so its own events are still kept out of the evidence.
  const sentAt = new Date(ctx.clock.now().getTime() + skewMs).toISOString();
  // The profile goes the supported way first (cmstp /s /u, while the INF is still there); if that step
  // fails, the removals below still run and the final snapshot judges what is left.
  const uninstalled = await attempt(
    'profile uninstall',
    () => operate('uninstall-profile', rendered.operations.uninstall, UninstallFrame),
    ctx,
  );
  const un = uninstalled.value;
  const uninstall = un?.uninstall ?? null;
  const cleaned = await attempt(
    'clean-up',
    () => operate('cleanup', rendered.operations.cleanup(createdKeys), CleanupFrame),
    ctx,
  );
  const done = cleaned.value;
  const final = (
    await attempt(
      'the snapshot after clean-up',
      async () =>
        (await operate('snapshot-after-cleanup', rendered.operations.snapshot, SnapshotFrame)).items,
      ctx,
    )
  ).value;
  const residue =
    final === null
      ? ['nothing proves the host is clean: the snapshot after clean-up did not complete']
      : final.filter((item) => item.includes(rendered.marker) || !baseline.has(item));
  if (uninstall !== null && (uninstall.timedOut || uninstall.exitCode !== 0)) {
    residue.push(
      `profile uninstall (cmstp /s /u ${uninstall.inf}) ${uninstall.timedOut ? 'timed out' : `exited ${String(uninstall.exitCode)}`}`,
    );
  }
  // A profile uninstall that never reported is as unproven as one that failed: cmstp's own removal may not
  // have happened, and the snapshot does not see everything it would remove.
  if (uninstalled.note !== null) residue.push(uninstalled.note);
  if (cleaned.note !== null) residue.push(cleaned.note);
  return {
    ran: true,
    verified: done?.ok === true && residue.length === 0,
    created,
    removed: [...(uninstall?.exitCode === 0 ? [`profile:${uninstall.inf}`] : []), ...(done?.removed ?? [])],
    residue,
    startedAt: un?.startUtc ?? done?.startUtc ?? sentAt,
    uninstall,
  };
}
