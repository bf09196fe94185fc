import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import type {
  ExecSession,
  Executor,
  HostTarget,
  LabKind,
  LoadedScenario,
  OperationResult,
  PayloadPublisher,
  RemoteOperation,
  ReportArtifact,
  RunContext,
  ScenarioResult,
  SiemConnector,
  SmokeEventLog,
  SmokeOutcome,
  SmokeReport,
  SmokeStep,
  TranscriptEntry,
} from '../core/index.js';
import { clockSkewPadMs, errorMessage, newMarker, smokeStatus } from '../core/index.js';
import {
  CanaryFrame,
  ExportEventsFrame,
  FailedFrame,
  HostStateFrame,
  LockFrame,
  PreflightFrame,
  ProbeFrame,
  SecureFolderFrame,
  UnlockFrame,
} from '../execute/frames.js';
import { awaitCanary, type PollSchedule } from '../poll/poll.js';
import { renderEmulation, renderSmokeOperations } from '../render/render.js';
import { canaryProbe } from '../signals/canary.js';
import { redact } from '../util/redact.js';
import { recordOrThrow, runHarness } from './run-harness.js';
import { recordingExecutor } from './transcript.js';

/** One cmstp path the smoke tries: a scenario, and the payload server its scriptlet URL names. */
export interface SmokePath {
  readonly id: string;
  readonly title: string;
  readonly scenario: LoadedScenario;
  readonly payloadServer: PayloadPublisher | null;
  /** Why the path cannot be tried with this configuration (e.g. no IP literal for the payload server). */
  readonly unavailable?: string;
}

export interface SmokeRun {
  readonly host: HostTarget;
  readonly executor: Executor;
  readonly siem: SiemConnector;
  readonly lab: LabKind;
  readonly schedule: PollSchedule;
  readonly deadlines: { readonly captureTimeoutMs: number; readonly detectTimeoutMs: number };
  readonly paths: readonly SmokePath[];
  readonly version: string;
  /** Events kept per log and step (wevtutil /c:). */
  readonly maxEvents?: number;
  /** Told after every step, with the report so far (status incomplete), so a killed smoke keeps what it saw. */
  readonly onProgress?: (report: SmokeReport) => void;
}

/** The harness's own working folders outlive a run by design; anything else new after the smoke is residue. */
const workingFolders = new Set(
  [
    'C:\\ProgramData\\purple-harness',
    'C:\\ProgramData\\purple-harness\\runs',
    'C:\\ProgramData\\purple-harness\\ops',
  ].map((dir) => `dir:${dir}`.toLowerCase()),
);

/** What cmstp.exe writes for itself on first use (the OTRF /au recording), not for the profile: not residue. */
const cmstpMachineState = [
  /^(key|value):HKLM:\\SOFTWARE\\Microsoft\\Tracing\\CMSTP(\||$)/i,
  /^(dir|file):.*\\Microsoft\\Network\\Connections\\Pbk(\\rasphone\.pbk)?(\||$)/i,
];

/**
 * The folder over-long scripts are uploaded to (executors/ssh/powershell.ts): -File runs them from there. The
 * script-executing lab's C: is a folder, so there the path is that folder's.
 */
const opsFolder = /(^C:|\/C)[\\/]ProgramData[\\/]purple-harness[\\/]ops[\\/]probe-[0-9a-f]+\.ps1$/i;

interface StepDraft {
  outcome: SmokeOutcome;
  findings: string[];
  facts: Record<string, unknown>;
  scenario: ScenarioResult | null;
  evidence: ReportArtifact[];
}

/** What one operation's frame says, or why there is none; never throws for a failed operation. */
function frameOf<S extends z.ZodType>(
  result: OperationResult,
  schema: S,
): { readonly data: z.output<S> } | { readonly problem: string } {
  const parsed = schema.safeParse(result.frame);
  if (parsed.success) return { data: parsed.data };
  const failed = FailedFrame.safeParse(result.frame);
  if (result.timedOut) return { problem: `${result.operation} timed out` };
  if (failed.success) return { problem: `${result.operation} failed on the host: ${failed.data.error}` };
  return {
    problem: `${result.operation} printed no valid result frame (exit ${String(result.exitCode)})${result.stderr === '' ? '' : `; stderr: ${result.stderr.slice(0, 300)}`}`,
  };
}

type Operate = (operation: RemoteOperation, final?: 'final') => Promise<OperationResult>;
type Work = (operate: Operate, draft: StepDraft) => Promise<void>;

/** A smoke as it goes: the steps so far, and what earlier steps learnt that later ones use. */
interface SmokeState {
  readonly run: SmokeRun;
  readonly ctx: RunContext;
  readonly startedAt: string;
  readonly marker: string;
  readonly ops: ReturnType<typeof renderSmokeOperations>;
  readonly steps: SmokeStep[];
  /** The host's clock minus ours, from preflight. */
  skewMs: number;
  /** The computer name preflight reported (the inventory name until then). */
  computer: string;
  stateBefore: readonly string[] | null;
}

function smokeReport(state: SmokeState, status: SmokeReport['status']): SmokeReport {
  const { run, ctx } = state;
  return {
    kind: 'purple-harness-smoke',
    schemaVersion: 1,
    runId: ctx.runId,
    harness: { name: 'purple-harness', version: run.version },
    host: { name: run.host.name, address: run.host.address, simulated: run.host.simulated },
    lab: run.lab,
    siem: { id: run.siem.id, description: run.siem.describe() },
    startedAt: state.startedAt,
    finishedAt: ctx.clock.now().toISOString(),
    status,
    steps: [...state.steps],
  };
}

const problem = (draft: StepDraft, finding: string): void => {
  draft.outcome = 'problem';
  draft.findings.push(finding);
};

/** Opens a session, runs `work` with it, records the exchanges; a lost connection is a finding. */
async function step(
  state: SmokeState,
  id: string,
  title: string,
  work: Work,
  options: { readonly exportEvents: boolean } = { exportEvents: true },
): Promise<void> {
  const { run, ctx } = state;
  if (ctx.signal.aborted) return;
  const started = ctx.clock.now();
  const transcript: TranscriptEntry[] = [];
  const draft: StepDraft = { outcome: 'ok', findings: [], facts: {}, scenario: null, evidence: [] };
  const executor = recordingExecutor(run.executor, ctx.clock, transcript);
  const opened: { session: ExecSession | null } = { session: null };
  try {
    // A `final` operation (releasing the lock) runs even after Ctrl-C, so it does not get the abort signal.
    const operate: Operate = async (operation, final) => {
      opened.session ??= await executor.open(run.host, final === undefined ? ctx.signal : undefined);
      return opened.session.run(operation, final === undefined ? ctx.signal : undefined);
    };
    await work(operate, draft);
  } catch (error) {
    draft.outcome = 'problem';
    draft.findings.push(`the step stopped: ${errorMessage(error)}`);
  } finally {
    await opened.session?.close();
  }
  const events = options.exportEvents ? await exportEvents(state, started) : [];
  state.steps.push({
    id,
    title,
    outcome: draft.outcome,
    findings: draft.findings.map((f) => redact(f, ctx.secrets)),
    startedAt: started.toISOString(),
    endedAt: ctx.clock.now().toISOString(),
    transcript,
    facts: draft.facts,
    scenario: draft.scenario,
    evidence: draft.evidence,
    events,
  });
  run.onProgress?.(smokeReport(state, 'incomplete'));
  ctx.logger.info(
    `smoke ${id}: ${draft.outcome}${draft.findings.length > 0 ? `: ${draft.findings.join('; ')}` : ''}`,
  );
}

/** The host's logs since `since` (our clock, moved to the host's by preflight's skew, less 2 s). */
async function exportEvents(state: SmokeState, since: Date): Promise<SmokeEventLog[]> {
  const { run, ctx, ops } = state;
  const sinceUtc = new Date(since.getTime() + state.skewMs - 2000).toISOString();
  try {
    const session = await run.executor.open(run.host, ctx.signal);
    try {
      const result = await session.run(ops.exportEvents(sinceUtc, run.maxEvents ?? 2000), ctx.signal);
      const frame = frameOf(result, ExportEventsFrame);
      if ('problem' in frame)
        return [{ log: '*', exitCode: result.exitCode, error: frame.problem, events: 0, xml: '' }];
      return frame.data.logs.map((log) => {
        const { xml, error } = unzipLog(log.xmlGzipBase64);
        const text = redact(xml, ctx.secrets);
        return {
          log: log.log,
          exitCode: log.exitCode,
          error: redact([log.error, error].filter((e) => e !== '').join(' '), ctx.secrets),
          events: text.match(/<Event[\s>]/g)?.length ?? 0,
          xml: text,
        };
      });
    } finally {
      await session.close();
    }
  } catch (error) {
    return [
      { log: '*', exitCode: null, error: redact(errorMessage(error), ctx.secrets), events: 0, xml: '' },
    ];
  }
}

/** Preflight alone: the facts every run starts from, and nothing on stderr. */
const preflightStep =
  (state: SmokeState): Work =>
  async (operate, draft) => {
    const { ctx, ops } = state;
    const asked = ctx.clock.now().getTime();
    const result = await operate(ops.preflight);
    const answered = ctx.clock.now().getTime();
    const frame = frameOf(result, PreflightFrame);
    if ('problem' in frame) {
      problem(draft, frame.problem);
      return;
    }
    const pre = frame.data;
    state.computer = pre.hostname;
    const hostNow = Date.parse(pre.sensors?.utcNow ?? '');
    if (Number.isFinite(hostNow)) state.skewMs = hostNow - Math.round((asked + answered) / 2);
    draft.facts = { ...pre, exitCode: result.exitCode, stderr: result.stderr, clockSkewMs: state.skewMs };
    // Under Windows PowerShell 5.1 a stderr line from a native command can end a script: none may get out.
    if (result.stderr !== '') problem(draft, `preflight wrote to stderr: ${result.stderr.slice(0, 300)}`);
    if (result.exitCode !== 0) problem(draft, `preflight exited ${String(result.exitCode)}`);
    if (!pre.cmstpPresent) problem(draft, 'cmstp.exe is not in System32');
    if (pre.sensors?.sysmonRunning !== true)
      problem(draft, 'Sysmon is not running: most signals cannot be captured');
    if (pre.integrityLevel !== 'High')
      draft.findings.push(
        `the SSH session runs at ${pre.integrityLevel} integrity (the scenarios expect an elevated administrator)`,
      );
  };

/** Scripts sent with -EncodedCommand and with -File: language mode, edition, exit codes. */
const scriptDelivery =
  (state: SmokeState): Work =>
  async (operate, draft) => {
    const { ops } = state;
    // -File uploads the script to the working folder: it must be the administrators' alone first.
    const secured = frameOf(await operate(ops.secureFolder), SecureFolderFrame);
    if ('problem' in secured) {
      problem(draft, `the working folder: ${secured.problem}`);
      return;
    }
    draft.facts.workingFolder = secured.data.workingFolder;
    for (const [viaFile, exitCode] of [
      [false, 3],
      [true, 4],
    ] as const) {
      const how = viaFile ? '-File' : '-EncodedCommand';
      const result = await operate(ops.probe({ exitCode, viaFile }));
      const frame = frameOf(result, ProbeFrame);
      if ('problem' in frame) {
        problem(draft, `${how}: ${frame.problem}`);
        continue;
      }
      draft.facts[viaFile ? 'file' : 'encodedCommand'] = {
        ...frame.data,
        exitCode: result.exitCode,
        stderr: result.stderr,
      };
      if (result.exitCode !== exitCode)
        problem(
          draft,
          `${how}: the script exited ${String(exitCode)} but the harness was told ${String(result.exitCode)}`,
        );
      if (frame.data.languageMode !== 'FullLanguage')
        problem(
          draft,
          `${how}: PowerShell runs in ${frame.data.languageMode} (an application control policy?); the scripts need FullLanguage`,
        );
      if (viaFile ? !opsFolder.test(frame.data.scriptPath) : frame.data.scriptPath !== '')
        problem(draft, `${how}: the script reports it was run as "${frame.data.scriptPath}"`);
      if (result.stderr !== '') problem(draft, `${how}: stderr: ${result.stderr.slice(0, 300)}`);
      if (frame.data.psEdition !== 'Desktop')
        draft.findings.push(
          `${how}: ran in PowerShell ${frame.data.psVersion} (${frame.data.psEdition}), not Windows PowerShell 5.1`,
        );
    }
  };

/** The registry and files cmstp and the harness touch, as the host lists them; null (a problem) if it cannot. */
async function hostState(
  state: SmokeState,
  operate: Operate,
  draft: StepDraft,
): Promise<readonly string[] | null> {
  const frame = frameOf(await operate(state.ops.hostState), HostStateFrame);
  if (!('problem' in frame)) return frame.data.items;
  problem(draft, frame.problem);
  return null;
}

/** The registry and files cmstp and the harness touch, before anything runs. */
const hostStateBefore =
  (state: SmokeState): Work =>
  async (operate, draft) => {
    const items = await hostState(state, operate, draft);
    if (items === null) return;
    state.stateBefore = items;
    draft.facts = { items };
  };

/** The host lock (a second run refused while it is held), and the pipeline canary found in the SIEM. */
const lockAndCanary =
  (state: SmokeState): Work =>
  async (operate, draft) => {
    const { run, ctx, marker } = state;
    const first = run.paths[0];
    if (first === undefined) {
      problem(draft, 'no cmstp path to take the lock and canary scripts from');
      return;
    }
    const rendered = renderEmulation(first.scenario, { marker });
    const lock = frameOf(await operate(rendered.operations.lock), LockFrame);
    if ('problem' in lock) {
      problem(draft, `lock: ${lock.problem}`);
      return;
    }
    if (!lock.data.acquired) {
      problem(
        draft,
        `the host is locked by ${lock.data.holder?.marker ?? 'another run'}; nothing else was tried`,
      );
      return;
    }
    try {
      // A second run must be refused while this one holds the lock.
      const rival = renderEmulation(first.scenario, { marker: newMarker() });
      const second = frameOf(await operate(rival.operations.lock), LockFrame);
      draft.facts.secondLockRefused = 'data' in second && !second.data.acquired;
      if (draft.facts.secondLockRefused !== true)
        problem(draft, 'a second run took the lock while this one held it');
      const canary = frameOf(await operate(rendered.operations.canary), CanaryFrame);
      if ('problem' in canary) {
        problem(draft, `canary: ${canary.problem}`);
        return;
      }
      draft.facts.canaryWrittenUtc = canary.data.writtenUtc;
      const seen = await awaitCanary(
        {
          connector: run.siem,
          host: state.computer,
          marker,
          bindings: { marker },
          since: new Date(Date.parse(canary.data.writtenUtc) - clockSkewPadMs),
          schedule: run.schedule,
          canary: canaryProbe,
          timeoutMs: run.deadlines.captureTimeoutMs,
        },
        ctx,
      );
      draft.facts.canaryInSiem = seen;
      if (seen === null)
        problem(
          draft,
          `the canary written at ${canary.data.writtenUtc} was not in the SIEM within ${String(run.deadlines.captureTimeoutMs / 1000)} s`,
        );
    } finally {
      const unlock = frameOf(await operate(rendered.operations.unlock, 'final'), UnlockFrame);
      draft.facts.released = 'data' in unlock && unlock.data.released;
      if (draft.facts.released !== true) problem(draft, 'the host lock was not released');
    }
  };

/** One cmstp path through the whole pipeline, as a run takes it. */
const cmstpPath =
  (state: SmokeState, path: SmokePath): Work =>
  async (_operate, draft) => {
    const { run, ctx } = state;
    if (path.unavailable !== undefined) {
      draft.outcome = 'not-run';
      draft.findings.push(path.unavailable);
      return;
    }
    const outcome = await runHarness(
      {
        scenarios: [path.scenario],
        hosts: [run.host],
        executor: run.executor,
        siem: run.siem,
        lab: run.lab,
        schedule: run.schedule,
        deadlines: run.deadlines,
        version: run.version,
        ...(path.payloadServer === null ? {} : { payloadServer: path.payloadServer }),
      },
      ctx,
    );
    draft.evidence.push(...outcome.evidence);
    const scenario = recordOrThrow(outcome).results[0] ?? null;
    draft.scenario = scenario;
    if (scenario === null) {
      problem(draft, `${path.scenario.spec.id} did not run`);
      return;
    }
    draft.facts = {
      scenario: scenario.scenario.id,
      marker: scenario.marker,
      status: scenario.status,
      cmstp: scenario.execution?.cmstp ?? null,
      uninstall: scenario.execution?.cleanup.uninstall ?? null,
      cleanupVerified: scenario.execution?.cleanup.verified ?? false,
    };
    if (scenario.status === 'passed') return;
    problem(
      draft,
      `${scenario.scenario.id} ${scenario.status}: ${scenario.execution?.reason ?? scenario.error?.message ?? ''}`,
    );
    for (const failed of scenario.execution?.steps.filter((s) => !s.ok) ?? [])
      draft.findings.push(`step ${failed.step}: ${failed.detail}`);
    for (const signal of scenario.signals.filter((s) => s.verdict !== 'pass'))
      draft.findings.push(`${signal.id} ${signal.verdict}: ${signal.reason}`);
    for (const left of scenario.execution?.cleanup.residue ?? []) draft.findings.push(`left behind: ${left}`);
  };

/** cmstp /s /u for every profile a path registered. */
const profileUninstall =
  (state: SmokeState): Work =>
  (_operate, draft) => {
    const uninstalls = state.steps.flatMap((s) =>
      s.scenario?.execution?.cleanup.uninstall
        ? [{ step: s.id, ...s.scenario.execution.cleanup.uninstall }]
        : [],
    );
    draft.facts = { uninstalls };
    if (uninstalls.length === 0) {
      draft.outcome = 'not-run';
      draft.findings.push('no path registered a profile, so cmstp /s /u never ran');
    }
    for (const u of uninstalls.filter((u) => u.timedOut || u.exitCode !== 0))
      problem(
        draft,
        `${u.step}: cmstp /s /u ${u.inf} ${u.timedOut ? 'did not exit' : `exited ${String(u.exitCode)}`}`,
      );
    return Promise.resolve();
  };

/** The same registry and files after every clean-up: what is new, changed or gone. */
const hostStateAfter =
  (state: SmokeState): Work =>
  async (operate, draft) => {
    const items = await hostState(state, operate, draft);
    if (items === null) return;
    if (state.stateBefore === null) {
      problem(draft, 'no state from before the smoke to compare with');
      return;
    }
    const diff = diffState(state.stateBefore, items);
    draft.facts = { items, ...diff };
    for (const item of diff.added.filter((i) => !workingFolders.has(i.toLowerCase()))) {
      // A new folder is reported; what is in it is listed on its own, and any new file or value is residue,
      // except what cmstp.exe itself sets up once per machine (RAS tracing defaults, the all-users phonebook).
      if (cmstpMachineState.some((pattern) => pattern.test(item)))
        draft.findings.push(`cmstp.exe's own machine-wide set-up, which Windows keeps: ${item}`);
      else if (item.startsWith('dir:'))
        draft.findings.push(`a folder that was not there before stays: ${item}`);
      else problem(draft, `new after clean-up: ${item}`);
    }
    for (const item of diff.changed) problem(draft, `changed: ${item}`);
    for (const item of diff.removed) problem(draft, `gone after the smoke: ${item}`);
  };

/**
 * `lab smoke`: against one host, in the order a Windows engineer would check a new lab, every path the
 * scenarios depend on, recording every fact seen (and the host's own event logs after each step). Runs
 * every step whatever failed before it: a first user's bundle is worth most when it is complete.
 */
export async function runSmoke(run: SmokeRun, ctx: RunContext): Promise<SmokeReport> {
  const marker = newMarker();
  const state: SmokeState = {
    run,
    ctx,
    startedAt: ctx.clock.now().toISOString(),
    marker,
    ops: renderSmokeOperations(marker),
    steps: [],
    skewMs: 0,
    computer: run.host.name,
    stateBefore: null,
  };
  const quiet = { exportEvents: false };
  await step(
    state,
    'preflight',
    'Preflight alone: the facts every run starts from, and nothing on stderr',
    preflightStep(state),
  );
  await step(
    state,
    'script-delivery',
    'Scripts sent with -EncodedCommand and with -File: language mode, edition, exit codes',
    scriptDelivery(state),
  );
  await step(
    state,
    'host-state-before',
    'Registry and files cmstp and the harness touch, before anything runs',
    hostStateBefore(state),
    quiet,
  );
  await step(
    state,
    'lock-and-canary',
    'The host lock, and the pipeline canary found in the SIEM',
    lockAndCanary(state),
  );
  for (const path of run.paths) await step(state, `cmstp:${path.id}`, path.title, cmstpPath(state, path));
  await step(
    state,
    'profile-uninstall',
    'cmstp /s /u for every profile a path registered',
    profileUninstall(state),
    quiet,
  );
  await step(
    state,
    'host-state-after',
    'The same registry and files after every clean-up: what is new, changed or gone',
    hostStateAfter(state),
    quiet,
  );
  return smokeReport(state, smokeStatus(state.steps, ctx.signal.aborted));
}

/** A log's XML from the host's gzip; .NET writes nothing at all (not even a gzip header) for no input. */
function unzipLog(base64: string): { xml: string; error: string } {
  if (base64 === '') return { xml: '', error: '' };
  try {
    return { xml: gunzipSync(Buffer.from(base64, 'base64')).toString('utf8'), error: '' };
  } catch (error) {
    return { xml: '', error: `the exported log did not decompress: ${errorMessage(error)}` };
  }
}

/** Items are `kind:path` or `kind:path|detail`; the same path with other details is a change. */
export function diffState(
  before: readonly string[],
  after: readonly string[],
): { added: string[]; removed: string[]; changed: string[] } {
  // A registry value is `value:key|name=data`, a file `file:path|length|time`: the identity ends before the data.
  const keyOf = (item: string): string => {
    const bar = item.indexOf('|');
    const end = item.startsWith('value:') ? item.indexOf('=', bar) : bar;
    return (end < 0 ? item : item.slice(0, end)).toLowerCase();
  };
  const was = new Map(before.map((i) => [keyOf(i), i]));
  const now = new Map(after.map((i) => [keyOf(i), i]));
  return {
    added: after.filter((i) => !was.has(keyOf(i))),
    removed: before.filter((i) => !now.has(keyOf(i))),
    changed: after.filter((i) => was.has(keyOf(i)) && was.get(keyOf(i)) !== i),
  };
}
