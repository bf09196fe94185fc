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
  /**
   * The tuning's TimeWindow: the host is left alone until this long after cmstp was started, so activity
   * that comes late (a delayed child, a slow fetch) happens before clean-up removes what it would touch.
   */
  readonly hold?: { readonly ms: number; readonly sleep: RunContext['sleep'] };
};

class StepFailed extends Error {}

type RunFrameData = z.output<typeof RunFrame>;

/** What the run step's frame says about the payload: the status and the sentence that explains it. */
function outcomeOf(
  rendered: RenderedEmulation,
  run: RunFrameData,
  payloadRan: boolean,
): { status: ExecutionRecord['status']; reason: string } {
  const cleanExit = run.exitCode === 0 && !run.timedOut;
  const killed = 'cmstp.exe did not exit on its own within the execute timeout and was killed';
  if (rendered.payloadEvidence === 'started') {
    // Without /s cmstp asks for confirmation first; on the SSH session nobody can answer, so it runs
    // nothing and waits. Given an INF by URL, nothing after its start is known to happen. Its start is
    // what the scenario tests; how it ended is said.
    const byUrl = rendered.servedInf !== null;
    return {
      status: run.pid > 0 ? 'executed' : 'failed',
      reason:
        run.pid <= 0
          ? 'cmstp.exe did not start'
          : byUrl
            ? `cmstp.exe started with the INF's URL and ${run.timedOut ? 'was killed at the execute timeout' : `exited with ${String(run.exitCode)}`}; only its start can be proven for this form`
            : run.timedOut
              ? 'cmstp.exe started and, without /s, waited for its confirmation dialog (nobody can answer it over SSH) until it was killed at the execute timeout, as expected'
              : `cmstp.exe started and, without /s, exited on its own with ${String(run.exitCode)}`,
    };
  }
  if (rendered.payloadEvidence === 'none')
    return {
      status: cleanExit ? 'executed' : 'failed',
      reason: cleanExit
        ? 'cmstp ran and exited 0 (no payload command, by design)'
        : run.timedOut
          ? killed
          : `cmstp.exe exited with ${String(run.exitCode)}`,
    };
  if (!payloadRan)
    return {
      status: 'failed',
      reason: run.timedOut
        ? killed
        : rendered.payloadEvidence === 'marker-file'
          ? `the payload's marker file was not written (cmstp exit code ${String(run.exitCode)})`
          : `cmstp.exe exited with ${String(run.exitCode)}`,
    };
  // The marker proves the payload ran whatever cmstp did next; how cmstp ended is said, not hidden.
  return {
    status: 'executed',
    reason:
      rendered.payloadEvidence === 'marker-file'
        ? `cmstp ran and the payload wrote its marker file${run.timedOut ? `; ${killed}` : run.exitCode === 0 ? '' : `; cmstp.exe then exited with ${String(run.exitCode)}`}`
        : 'cmstp ran and exited 0',
  };
}

/** Preflight's frame as host facts, with the clock skew measured at the midpoint of the exchange. */
function factsOf(
  pre: z.output<typeof PreflightFrame>,
  asked: number,
  answered: number,
  ctx: Context,
): HostFacts {
  return {
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
}

/** One emulation as it goes: each step records itself, and what it learnt becomes the execution record. */
class Emulation {
  readonly startedAt: string;
  readonly steps: StepRecord[] = [];
  readonly progress = { staged: false, started: false, payloadRan: false };
  facts: HostFacts | null = null;
  /** How far off preflight's clock skew may be (half its round trip), in ms. */
  skewErrorMs = 0;
  payload: ExecutionRecord['payload'] = null;
  cmstp: ExecutionRecord['cmstp'] = null;
  cleanup: CleanupRecord = {
    ran: false,
    verified: false,
    created: [],
    removed: [],
    residue: [],
    startedAt: null,
    uninstall: null,
  };
  canary: ExecutionRecord['canary'] = null;
  session: ExecSession | null = null;
  /** The first snapshot's items: once taken, clean-up runs whatever happens next. */
  before: string[] | null = null;
  locked = false;

  readonly host: HostTarget;
  readonly rendered: RenderedEmulation;
  readonly ctx: Context;

  constructor(host: HostTarget, rendered: RenderedEmulation, ctx: Context) {
    this.host = host;
    this.rendered = rendered;
    this.ctx = ctx;
    this.startedAt = ctx.clock.now().toISOString();
  }

  record(step: string, ok: boolean, started: Date, detail: string, result?: OperationResult): void {
    this.steps.push({
      step,
      ok,
      startedAt: started.toISOString(),
      durationMs: result?.durationMs ?? this.ctx.clock.now().getTime() - started.getTime(),
      exitCode: result?.exitCode ?? null,
      timedOut: result?.timedOut ?? false,
      detail: redact(detail, this.ctx.secrets),
    });
  }

  /** Runs an operation and parses its frame; a failed frame or a missing one ends the step as failed. */
  readonly operate = async <S extends z.ZodType>(
    step: string,
    operation: RemoteOperation,
    schema: S,
  ): Promise<z.output<S>> => {
    const { ctx, session } = this;
    const started = ctx.clock.now();
    if (!session) throw new StepFailed(`${step}: no session`);
    if (ctx.shouldStop?.() === true && !finalSteps.has(step)) {
      this.record(step, false, started, 'skipped: the stop file is present');
      throw new StepFailed(`${step}: stopped by the operator's stop file`);
    }
    // Undoing and releasing steps run even after Ctrl-C, so they are not given the run's abort signal.
    const result = await session.run(operation, finalSteps.has(step) ? undefined : ctx.signal);
    const parsed = schema.safeParse(result.frame);
    // A missing exit status means the host never confirmed the step finished: never read that as success.
    if (parsed.success && result.exitCode === null && !result.timedOut) {
      this.record(step, false, started, 'no exit status from the host', result);
      throw new StepFailed(`${step}: no exit status from the host`);
    }
    if (parsed.success) {
      this.record(step, true, started, `exit ${String(result.exitCode)}`, result);
      return parsed.data;
    }
    const failed = FailedFrame.safeParse(result.frame);
    const detail = result.timedOut
      ? `timed out after ${operation.timeoutMs} ms`
      : failed.success
        ? failed.data.error
        : `no valid result frame (exit ${String(result.exitCode)})${result.stderr ? `: ${result.stderr.slice(0, 500)}` : ''}`;
    this.record(step, false, started, detail, result);
    throw new StepFailed(`${step}: ${detail}`);
  };

  /** Connects, makes the working folder the administrators' alone, and takes the host's lock. */
  async open(executor: Executor): Promise<void> {
    const { host, rendered, ctx } = this;
    const opened = ctx.clock.now();
    this.session = await executor.open(host, ctx.signal);
    this.record('connect', true, opened, `${host.address}:${host.port} host key ${host.hostKeySha256}`);
    // Scripts and payloads uploaded to the working folder run elevated: it is the administrators' alone first.
    await this.operate('secure-folder', rendered.operations.secureFolder, SecureFolderFrame);
    const lock = await this.operate('lock-host', rendered.operations.lock, LockFrame);
    if (!lock.acquired) {
      const by = lock.holder
        ? `run ${lock.holder.marker} since ${lock.holder.acquiredUtc} (expires ${lock.holder.expiresUtc})`
        : 'another run';
      throw new StepFailed(`host busy: ${host.name} is locked by ${by}; nothing was run`);
    }
    this.locked = true;
  }

  /** Preflight's facts, judged by the caller (a cloned host, a blind sensor under --preflight strict). */
  async preflight(): Promise<HostFacts> {
    const { ctx } = this;
    const asked = ctx.clock.now().getTime();
    const pre = await this.operate('preflight', this.rendered.operations.preflight, PreflightFrame);
    const answered = ctx.clock.now().getTime();
    const facts = factsOf(pre, asked, answered, ctx);
    this.facts = facts;
    // The host read its clock somewhere between asking and answering: the skew is known to within half of it.
    this.skewErrorMs = Math.ceil((answered - asked) / 2);
    if (!pre.cmstpPresent) throw new StepFailed('preflight: cmstp.exe is not present on the host');
    const refusal = ctx.afterPreflight?.(facts) ?? null;
    if (refusal !== null) throw new StepFailed(`preflight: ${refusal}`);
    return facts;
  }

  /**
   * The canary is evidence about the pipeline, not a step the run needs: a failure to write it is kept in
   * the steps, and the signals are then judged without that proof.
   */
  async writeCanary(facts: HostFacts): Promise<void> {
    const { ctx } = this;
    try {
      const written = await this.operate('canary', this.rendered.operations.canary, CanaryFrame);
      this.canary = { text: canaryText(this.rendered.marker), writtenAt: written.writtenUtc };
    } catch (error) {
      if (!(error instanceof StepFailed) || ctx.shouldStop?.() === true) throw error;
      ctx.logger.warn(`the pipeline canary could not be written: ${error.message}`);
    }
    if (this.canary !== null && ctx.afterCanary) {
      const unproven = await ctx.afterCanary(this.canary.writtenAt, facts.hostname);
      if (unproven !== null) throw new StepFailed(`preflight: ${unproven}`);
    }
  }

  /** Uploads the payload and any staged scriptlet (a direct COM call stages nothing). */
  async stage(session: ExecSession): Promise<void> {
    const { ctx, rendered } = this;
    for (const [step, file] of [
      ['stage-payload', rendered.payload],
      ['stage-scriptlet', rendered.stagedScriptlet],
    ] as const) {
      if (!file) continue;
      const uploaded = ctx.clock.now();
      await session.upload(file.remotePath, file.content);
      this.record(step, true, uploaded, `${file.remotePath} sha256 ${file.sha256}`);
      if (step === 'stage-payload') this.payload = { remotePath: file.remotePath, sha256: file.sha256 };
    }
    this.progress.staged = true;
  }

  /** Runs cmstp and reads what its frame proves about the payload. */
  async runCmstp(): Promise<{ status: ExecutionRecord['status']; reason: string }> {
    const { rendered } = this;
    const sentAt = this.ctx.clock.now().getTime();
    const run = await this.operate(rendered.operations.run.name, rendered.operations.run, RunFrame);
    this.progress.started = true;
    // cmstp's start on the host's clock, on ours (skew = host - harness), late by as much as the skew may be
    // off, so the host's own clock has passed the TimeWindow too; when sent, if it does not parse.
    const hostStart = Date.parse(run.startUtc) - (this.facts?.sensors?.clockSkewMs ?? 0) + this.skewErrorMs;
    await this.holdUntil(Number.isFinite(hostStart) ? hostStart : sentAt);
    this.cmstp = {
      commandLine: rendered.cmstpCommandLine,
      pid: run.pid,
      exitCode: run.exitCode,
      timedOut: run.timedOut,
      startedAt: run.startUtc,
      endedAt: run.endUtc,
      markerProcesses: run.markerProcesses,
    };
    if (rendered.followUp !== null) this.checkFollowUp(run);
    if (rendered.payload && run.payloadSha256 !== rendered.payload.sha256)
      throw new StepFailed(`the payload on the host (sha256 ${run.payloadSha256}) is not the one staged`);
    this.progress.payloadRan =
      rendered.payloadEvidence === 'marker-file'
        ? run.markerFound
        : rendered.payloadEvidence === 'exit-code' && run.exitCode === 0 && !run.timedOut;
    return outcomeOf(rendered, run, this.progress.payloadRan);
  }

  /**
   * emulation.followUp's call, made on the host by the run operation: recorded as its own step (on our clock).
   * It is part of the emulation: a call not made, or whose command left no marker, means the emulation did not
   * complete, and nothing the run saw (or did not see) is then taken as a pass.
   */
  checkFollowUp(run: RunFrameData): void {
    const made = run.followUp;
    const at = new Date(Date.parse(made?.startUtc ?? '') - (this.facts?.sensors?.clockSkewMs ?? 0));
    const ok = made !== null && made.markerFound && Number.isFinite(at.getTime());
    const detail =
      made === null
        ? 'not made: cmstp did not end on its own'
        : made.error !== undefined
          ? `ICMLuaUtil.ShellExec at ${made.startUtc} (host clock) failed: ${made.error}`
          : `ICMLuaUtil.ShellExec at ${made.startUtc} (host clock) returned ${String(made.result)}; its marker file ${made.markerFound ? 'was written' : 'is missing'}`;
    this.record('follow-up', ok, Number.isFinite(at.getTime()) ? at : this.ctx.clock.now(), detail);
    if (!ok) throw new StepFailed(`the follow-up call ${detail}`);
  }

  /** Waits out the TimeWindow from cmstp's start; an interrupt ends the wait, and clean-up runs as always. */
  async holdUntil(started: number): Promise<void> {
    const { hold, clock, signal } = this.ctx;
    if (hold === undefined) return;
    const left = started + hold.ms - clock.now().getTime();
    if (left > 0) await hold.sleep(left, signal).catch(() => undefined);
  }

  /** Why the run stopped early, as its status and reason. */
  failure(error: unknown): { status: ExecutionRecord['status']; reason: string } {
    if (error instanceof HarnessError && error.code === 'E_INTERRUPTED')
      return { status: 'error', reason: 'interrupted' };
    if (error instanceof StepFailed)
      return { status: this.progress.started ? 'failed' : 'error', reason: error.message };
    const reason = errorMessage(error);
    if (!this.session) this.record('connect', false, this.ctx.clock.now(), reason);
    return { status: 'error', reason };
  }

  /** Clean-up (once the first snapshot exists), the lock's release and the session's close, whatever happened. */
  async finish(): Promise<void> {
    const { session, ctx, rendered } = this;
    // Before the first snapshot only read-only steps ran (connect, preflight): nothing to clean up.
    if (session && this.before !== null)
      this.cleanup = await cleanUp(
        rendered,
        this.before,
        this.operate,
        this.facts?.sensors?.clockSkewMs ?? 0,
        ctx,
      );
    if (session && this.locked) {
      try {
        await this.operate('unlock-host', rendered.operations.unlock, UnlockFrame);
      } catch (error) {
        // An unreleased lock expires on its own (its TTL), and `purple-harness cleanup --marker` removes it.
        ctx.logger.warn(`the host lock was not released: ${errorMessage(error)}`);
      }
    }
    await session?.close();
  }

  result(outcome: { status: ExecutionRecord['status']; reason: string }): ExecutionRecord {
    return {
      status: outcome.status,
      reason: redact(outcome.reason, this.ctx.secrets),
      progress: this.progress,
      startedAt: this.startedAt,
      endedAt: this.ctx.clock.now().toISOString(),
      facts: this.facts,
      payload: this.payload,
      cmstp: this.cmstp,
      steps: this.steps,
      cleanup: this.cleanup,
      canary: this.canary,
      payloadFetches: [],
    };
  }
}

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
  const emulation = new Emulation(host, rendered, ctx);
  let outcome: { status: ExecutionRecord['status']; reason: string };
  try {
    await emulation.open(executor);
    const facts = await emulation.preflight();
    await emulation.writeCanary(facts);
    emulation.before = (
      await emulation.operate('snapshot-before', rendered.operations.snapshot, SnapshotFrame)
    ).items;
    if (emulation.session) await emulation.stage(emulation.session);
    outcome = await emulation.runCmstp();
  } catch (error) {
    outcome = emulation.failure(error);
  } finally {
    await emulation.finish();
  }
  return emulation.result(outcome);
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
