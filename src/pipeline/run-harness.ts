import { windowsBaseName } from '../util/winpath.js';
import { evaluateSignal, judgePipeline } from '../assert/evaluate.js';
import type {
  ControlDefinition,
  Executor,
  LabKind,
  NotRunPair,
  RunIndexEntry,
  ExecutionRecord,
  Expectation,
  HostFacts,
  PipelineProof,
  RenderedEmulation,
  ReportArtifact,
  TranscriptEntry,
  SignalDefinition,
  HostTarget,
  LoadedScenario,
  PayloadPublisher,
  RunContext,
  RunResult,
  ScenarioResult,
  SignalResult,
  SiemConnector,
  TimeWindow,
} from '../core/index.js';
import {
  HarnessError,
  scriptletBindings,
  localSiemPolling,
  newMarker,
  prerequisiteMet,
  scenarioStatus,
  summarizeSignals,
  errorMessage,
  clockSkewPadMs,
  activityWindow,
} from '../core/index.js';
import { runEmulation } from '../execute/run-emulation.js';
import { awaitCanary, type PollOutcome, type PollPlan, type PollSchedule } from '../poll/poll.js';
import { RunPoller } from '../poll/run-poller.js';
import { renderEmulation } from '../render/render.js';
import { canaryProbe } from '../signals/canary.js';
import { signalCatalog } from '../signals/catalog.js';
import { signalReadiness } from '../signals/readiness.js';
import { scenarioEvidence, type QueryPlanRecord } from '../report/evidence.js';
import { redact } from '../util/redact.js';
import { keyOf, pairKeys, planPairs, type Shard } from './plan.js';
import { recordingExecutor } from './transcript.js';
import { assembleRun } from './assemble.js';
import { suggestDetections, suggestionFiles, type SuggestPair } from '../suggest/suggest.js';

export interface HarnessRun {
  readonly scenarios: readonly LoadedScenario[];
  readonly hosts: readonly HostTarget[];
  readonly executor: Executor;
  readonly siem: SiemConnector;
  readonly lab: LabKind;
  readonly schedule: PollSchedule;
  /** Deadlines for scenarios that set none: the connector's own (`polling` in its definition). */
  readonly deadlines?: { readonly captureTimeoutMs: number; readonly detectTimeoutMs: number };
  readonly version: string;
  /** Serves scriptlets to the hosts; needed only by scenarios with a scriptlet. */
  readonly payloadServer?: PayloadPublisher;
  /** How many hosts run at once (default 1). */
  readonly concurrency?: number;
  /** Takes a host's lock before its scenarios run; resolves to the release. */
  readonly lockHost?: (host: HostTarget) => Promise<() => Promise<void>>;
  /** strict: a scenario whose expected signals include one the host cannot record does not run. */
  readonly preflight?: 'strict' | 'lenient';
  /** Checked between scenarios: true stops the run after the current one (the operator's stop file). */
  readonly shouldStop?: () => boolean;
  /** The controls the run is evidence for (controls/default.yaml unless the config names another file). */
  readonly controls?: readonly ControlDefinition[];
  /** Run only this slice of the scenario x host pairs (`--shard i/n`); null or absent: all of them. */
  readonly shard?: Shard | null;
  /** Earlier runs (reports/index.json, oldest first): a signal that passed there and fails now is a regression. */
  readonly history?: readonly RunIndexEntry[];
  /**
   * The tuning's TimeWindow (ms): how long after cmstp starts its activity is tied to it. The host is left
   * alone that long before clean-up, and the window-correlated queries span it. null or absent: none.
   */
  readonly timeWindowMs?: number | null;
}

/** What a run made, for the one writer: the record and the evidence, even when it stopped early. */
export interface HarnessOutcome {
  /** The run record: complete, or (after a crash) what finished before it, with the rest as notRun. */
  readonly run: RunResult;
  /** Each scenario's evidence-bundle files, already redacted. */
  readonly evidence: readonly ReportArtifact[];
  /** What stopped the run before its plan was done; the record then says `crashed`. null when it was not. */
  readonly crash: { readonly error: unknown } | null;
}

/** The record of a run that finished its plan, or the error that stopped it (for callers with no partial write). */
export function recordOrThrow(outcome: HarnessOutcome): RunResult {
  if (outcome.crash !== null) throw outcome.crash.error;
  return outcome.run;
}

/** One pair's result and its evidence files. */
interface PairOutcome {
  readonly result: ScenarioResult;
  readonly evidence: readonly ReportArtifact[];
  /** What the run's detection suggestions need of this pair (suggest/). */
  readonly suggest: SuggestPair;
}

const noLock = (): Promise<() => Promise<void>> => Promise.resolve(() => Promise.resolve());

/**
 * cmstp's run on the target's clock, padded, never reaching back before the previous pair on this host ended
 * (`notBefore`, harness clock): back to back, the previous scenario's clean-up can be milliseconds earlier,
 * and its registry and network events are its own, never this run's evidence.
 */
function processWindow(
  execution: ExecutionRecord,
  notBefore: string | null,
  timeWindowMs: number | null,
): TimeWindow {
  const start = Date.parse(execution.cmstp?.startedAt ?? execution.startedAt);
  const end = Date.parse(execution.cmstp?.endedAt ?? execution.endedAt);
  const window = activityWindow(start, Number.isFinite(end) ? end : start, timeWindowMs);
  const cutoff = evidenceUntil(execution)?.getTime() ?? Infinity;
  // The host stamps its events on its own clock: skew = host - harness, measured at preflight.
  const skewMs = execution.facts?.sensors?.clockSkewMs ?? 0;
  const floor = notBefore === null ? -Infinity : Date.parse(notBefore) + skewMs + 1;
  return {
    since: new Date(Math.max(window.since, floor)),
    until: new Date(Math.min(window.until, cutoff)),
  };
}

/** Clean-up's start on the target's clock: its `cmstp /s /u` names the marker too, so evidence ends there. */
function evidenceUntil(execution: ExecutionRecord): Date | null {
  const started = Date.parse(execution.cleanup.startedAt ?? '');
  return Number.isFinite(started) ? new Date(started - 1) : null;
}

function definitionsOf(
  scenario: LoadedScenario,
): { definition: SignalDefinition; expectation: Expectation }[] {
  return scenario.spec.expect.map((expectation) => ({
    definition: signalCatalog[expectation.signal],
    expectation,
  }));
}

/**
 * The computer names the run's hosts reported, each claimed by the first inventory host that reports it. Two
 * hosts reporting one name (a cloned VM) would share every event tied to the host by name and time, so the
 * second is refused before anything is staged on it: its results could be credited with the other's events.
 */
function computerNameClaims(): (host: HostTarget, facts: HostFacts) => string | null {
  const owners = new Map<string, string>();
  return (host, facts) => {
    const name = (facts.hostname.split('.')[0] ?? facts.hostname).toLowerCase();
    const owner = owners.get(name);
    if (owner === undefined) {
      owners.set(name, host.name);
      return null;
    }
    return owner === host.name
      ? null
      : `this host reports the computer name ${facts.hostname}, as host ${owner} of this run does (a cloned VM?): the SIEM could not tell their events apart, so it does not run here; give each VM its own computer name`;
  };
}

/** `--preflight strict`: why a host whose sensors cannot record an expected signal does not run; null if none. */
function blindTo(
  signals: readonly { readonly definition: SignalDefinition }[],
  facts: HostFacts,
): string | null {
  const blind = signals.filter(({ definition }) => signalReadiness(definition, facts.sensors) === 'blind');
  return blind.length === 0
    ? null
    : `the host's sensors cannot record ${blind.map((s) => s.definition.id).join(', ')} (--preflight strict)`;
}

/** The capture and detect deadlines of a scenario: its own, else the connector's, else the local SIEM's. */
function deadlinesOf(run: HarnessRun, scenario: LoadedScenario): Deadlines {
  return {
    captureTimeoutMs:
      scenario.spec.timeouts.capture ?? run.deadlines?.captureTimeoutMs ?? localSiemPolling.captureTimeoutMs,
    detectTimeoutMs:
      scenario.spec.timeouts.detect ?? run.deadlines?.detectTimeoutMs ?? localSiemPolling.detectTimeoutMs,
  };
}

interface Deadlines {
  readonly captureTimeoutMs: number;
  readonly detectTimeoutMs: number;
}

/** One pair's run as it goes: each step fills in what it learnt, and the evidence is built from all of it. */
interface PairState {
  readonly marker: string;
  /** When the previous pair on this host in this run ended (harness clock); null for the host's first. */
  readonly notBefore: string | null;
  readonly signals: readonly { definition: SignalDefinition; expectation: Expectation }[];
  readonly deadlines: Deadlines;
  readonly transcript: TranscriptEntry[];
  rendered: RenderedEmulation | null;
  execution: ExecutionRecord | null;
  plan: QueryPlanRecord | null;
  polled: PollOutcome | null;
  pipeline: PipelineProof;
  error: ScenarioResult['error'];
}

/**
 * With --preflight strict, the pipeline is proven before anything is staged, or the scenario does not run:
 * the canary the host wrote must reach the SIEM within the capture deadline.
 */
function strictCanary(run: HarnessRun, state: PairState, ctx: RunContext) {
  const { captureTimeoutMs } = state.deadlines;
  return async (writtenAt: string, hostname: string): Promise<string | null> => {
    const seen = await awaitCanary(
      {
        connector: run.siem,
        host: hostname,
        marker: state.marker,
        bindings: { marker: state.marker },
        since: new Date(Date.parse(writtenAt) - clockSkewPadMs),
        schedule: run.schedule,
        canary: canaryProbe,
        timeoutMs: captureTimeoutMs,
      },
      ctx,
    );
    return seen === null
      ? `the pipeline canary written at ${writtenAt} did not reach the SIEM within ${String(captureTimeoutMs / 1000)} s (--preflight strict)`
      : null;
  };
}

/**
 * Runs the rendered emulation on the host, with its files served only while it runs; what the payload server
 * saw for this run's folder becomes part of the execution evidence.
 */
async function execute(
  run: HarnessRun,
  host: HostTarget,
  rendered: RenderedEmulation,
  state: PairState,
  claimName: (host: HostTarget, facts: HostFacts) => string | null,
  ctx: RunContext,
): Promise<ExecutionRecord> {
  const servedFiles = [
    ...(rendered.scriptlet ? [{ file: rendered.scriptlet, type: 'text/scriptlet' }] : []),
    ...(rendered.servedInf ? [{ file: rendered.servedInf, type: 'application/octet-stream' }] : []),
  ];
  for (const { file, type } of servedFiles) run.payloadServer?.publish(file.path, file.content, type);
  let execution: ExecutionRecord;
  try {
    execution = await runEmulation(
      recordingExecutor(run.executor, ctx.clock, state.transcript),
      host,
      rendered,
      {
        ...ctx,
        ...(run.shouldStop ? { shouldStop: run.shouldStop } : {}),
        ...(run.timeWindowMs
          ? {
              hold: {
                ms: run.timeWindowMs,
                sleep: (ms: number, signal?: AbortSignal) => ctx.sleep(ms, signal),
              },
            }
          : {}),
        // A cloned host is refused first; with --preflight strict, so is a host blind to an expected signal.
        afterPreflight: (facts: HostFacts) =>
          claimName(host, facts) ?? (run.preflight === 'strict' ? blindTo(state.signals, facts) : null),
        ...(run.preflight === 'strict' ? { afterCanary: strictCanary(run, state, ctx) } : {}),
      },
    );
  } finally {
    for (const { file } of servedFiles) run.payloadServer?.withdraw(file.path);
  }
  return { ...execution, payloadFetches: run.payloadServer?.fetches(`/${state.marker}/`) ?? [] };
}

/**
 * What to ask the SIEM, and for how long. Only signals the emulation got far enough to produce are waited
 * for (the rest are inconclusive); one preflight found the sensors blind to is looked for but not waited
 * for (see RunPoller.watch).
 */
function pollPlanFor(
  run: HarnessRun,
  label: string,
  host: HostTarget,
  rendered: RenderedEmulation,
  execution: ExecutionRecord,
  state: PairState,
): PollPlan {
  const { marker } = state;
  const startedAt = Date.parse(execution.cmstp?.startedAt ?? execution.startedAt);
  const pollable = state.signals
    .filter(({ definition }) => prerequisiteMet(definition.requires, execution.progress))
    .map((s) => ({
      ...s,
      blind: signalReadiness(s.definition, execution.facts?.sensors ?? null) === 'blind',
    }));
  return {
    label,
    connector: run.siem,
    host: execution.facts?.hostname ?? host.name,
    marker,
    bindings: {
      marker,
      payloadFile: rendered.payload ? windowsBaseName(rendered.payload.remotePath) : 'none',
      cmstpPid: String(execution.cmstp?.pid ?? 'none'),
      ...scriptletBindings(rendered.scriptlet, run.payloadServer?.address ?? null),
    },
    processWindow: processWindow(execution, state.notBefore, run.timeWindowMs ?? null),
    evidenceUntil: evidenceUntil(execution),
    // A host whose clock runs far behind stamps its events earlier still: widen by the skew seen.
    since: new Date(
      (Number.isFinite(startedAt) ? startedAt : Date.now()) -
        Math.max(clockSkewPadMs, Math.abs(execution.facts?.sensors?.clockSkewMs ?? 0) + 60_000),
    ),
    signals: pollable,
    canary: execution.canary === null ? null : canaryProbe,
    ...state.deadlines,
    schedule: run.schedule,
  };
}

/** The poll plan as the evidence bundle records it. */
function planRecord(plan: PollPlan, deadlines: Deadlines): QueryPlanRecord {
  return {
    host: plan.host,
    marker: plan.marker,
    bindings: plan.bindings,
    processWindow: {
      since: plan.processWindow.since.toISOString(),
      until: plan.processWindow.until.toISOString(),
    },
    since: plan.since.toISOString(),
    evidenceUntil: plan.evidenceUntil?.toISOString() ?? null,
    ...deadlines,
  };
}

/** Each expected signal's verdict from what was observed; with nothing judged (`judged` false), inconclusive. */
function verdicts(state: PairState, judged: boolean): SignalResult[] {
  const observations = state.polled?.signals;
  return state.signals.map(({ definition, expectation }) =>
    evaluateSignal({
      expectation,
      definition,
      execution: state.execution,
      observation: judged ? observations?.get(definition.id) : undefined,
      captureTimeoutMs: judged ? state.deadlines.captureTimeoutMs : 0,
      detectTimeoutMs: judged ? state.deadlines.detectTimeoutMs : 0,
      readiness: signalReadiness(definition, state.execution?.facts?.sensors ?? null),
      ...(judged ? { pipeline: state.pipeline.status } : {}),
    }),
  );
}

/** What stopped a pair, for run.json: an interrupt, a harness error with its hint, or anything else redacted. */
function pairError(caught: unknown, ctx: RunContext): NonNullable<ScenarioResult['error']> {
  if (ctx.signal.aborted) return { code: 'E_INTERRUPTED', message: 'interrupted', hint: null };
  const harnessError = caught instanceof HarnessError ? caught : null;
  return {
    code: harnessError?.code ?? 'E_INTERNAL',
    message: redact(errorMessage(caught), ctx.secrets),
    hint: harnessError?.hint ?? null,
  };
}

/** What every pair of a run shares: its one SIEM poller, and the computer names hosts have claimed. */
interface RunShared {
  readonly poller: RunPoller;
  readonly claimName: (host: HostTarget, facts: HostFacts) => string | null;
}

/** Render -> execute -> poll -> assert for one scenario on one host; an error leaves its signals inconclusive. */
async function runPair(
  run: HarnessRun,
  scenario: LoadedScenario,
  host: HostTarget,
  ctx: RunContext,
  shared: RunShared,
  notBefore: string | null,
): Promise<PairOutcome> {
  const label = `${scenario.spec.id} on ${host.name}`;
  const state: PairState = {
    marker: newMarker(),
    notBefore,
    signals: definitionsOf(scenario),
    deadlines: deadlinesOf(run, scenario),
    transcript: [],
    rendered: null,
    execution: null,
    plan: null,
    polled: null,
    pipeline: { status: 'unknown', reason: 'the run ended before the SIEM was polled', canary: null },
    error: null,
  };
  let results: SignalResult[];
  try {
    const rendered = renderEmulation(scenario, {
      marker: state.marker,
      ...(run.payloadServer
        ? {
            payloadBaseUrl: run.payloadServer.baseUrl,
            payloadAddresses: {
              address: run.payloadServer.address,
              secondAddress: run.payloadServer.secondAddress,
            },
          }
        : {}),
    });
    state.rendered = rendered;
    ctx.logger.info(`${label}: running (marker ${state.marker})`);
    const execution = await execute(run, host, rendered, state, shared.claimName, ctx);
    state.execution = execution;
    ctx.logger.info(`${label}: execution ${execution.status}: ${execution.reason}`);
    if (execution.status === 'error')
      state.error = {
        code: 'E_EXEC',
        message: execution.reason,
        hint: 'See the execution steps in run.json.',
      };
    const pollPlan = pollPlanFor(run, label, host, rendered, execution, state);
    state.plan = planRecord(pollPlan, state.deadlines);
    state.polled =
      ctx.signal.aborted || pollPlan.signals.length === 0 ? null : await shared.poller.watch(pollPlan);
    state.pipeline = judgePipeline(
      execution,
      state.polled?.canary ?? null,
      (state.polled?.signals ?? new Map()).values(),
    );
    results = verdicts(state, true);
  } catch (caught) {
    state.error = pairError(caught, ctx);
    // Whatever was not judged is inconclusive, never pass and never fail.
    results = verdicts(state, false);
  }
  return finishPair(run, scenario, host, state, results, ctx);
}

/** After the verdicts: collateral, alert clean-up, the evidence bundle, and the pair's result. */
async function finishPair(
  run: HarnessRun,
  scenario: LoadedScenario,
  host: HostTarget,
  state: PairState,
  results: SignalResult[],
  ctx: RunContext,
): Promise<PairOutcome> {
  const { execution, marker } = state;
  const queries = state.polled?.queries ?? [];
  const collateral = await collectCollateral(
    run.siem,
    execution?.facts?.hostname ?? host.name,
    { execution, notBefore: state.notBefore, settleMs: run.schedule.initialDelayMs },
    results,
    ctx,
  );
  const alertCleanup = await closeRaisedAlerts(
    run.siem,
    results,
    `purple-harness test run, marker ${marker}`,
    ctx,
  );
  const bundle = scenarioEvidence(
    {
      scenarioId: scenario.spec.id,
      host: host.name,
      rendered: state.rendered,
      transcript: state.transcript,
      execution,
      signals: state.signals.map(({ definition, expectation }, i) => ({
        id: definition.id,
        expectation,
        readiness: results[i]?.readiness ?? 'unknown',
        observation: state.polled?.signals.get(definition.id),
      })),
      plan: state.plan,
      queries,
    },
    ctx.secrets,
  );
  const result: ScenarioResult = {
    scenario: {
      id: scenario.spec.id,
      title: scenario.spec.title,
      file: scenario.file,
      sha256: scenario.sha256,
      ...(scenario.spec.boundary === undefined ? {} : { boundary: scenario.spec.boundary }),
    },
    host: { name: host.name, address: host.address, simulated: host.simulated },
    marker,
    status: scenarioStatus(results, state.error !== null, execution?.cleanup),
    execution,
    pipeline: state.pipeline,
    queries,
    alertCleanup,
    collateral,
    signals: results,
    summary: summarizeSignals(results),
    evidence: bundle.index,
    error: state.error,
  };
  return { result, evidence: bundle.files, suggest: suggestPair(scenario, host, state, results) };
}

/**
 * The pair as the detection suggestions need it: its gaps (captured, expected detected, not detected) with
 * their captured events as the SIEM returned them, its evidence, and where its events are on the host's clock.
 */
function suggestPair(
  scenario: LoadedScenario,
  host: HostTarget,
  state: PairState,
  results: readonly SignalResult[],
): SuggestPair {
  const { execution } = state;
  const raw = (id: SignalResult['id']) => state.polled?.signals.get(id)?.raw?.events ?? [];
  return {
    scenario: scenario.spec.id,
    host: host.name,
    // Only "no alert at all" makes a control: `detected: false` with a rule named (a tuning boundary's
    // let-through case) says that one rule stays quiet, not that the activity is benign.
    negativeControl:
      scenario.spec.expect.length > 0 &&
      scenario.spec.expect.every((e) => e.detected === false && e.rule === undefined),
    gaps: results.flatMap((r) => {
      const definition = signalCatalog[r.id];
      return r.expected.detected === true && r.observed.captured === true && r.observed.detected === false
        ? [{ signal: r.id, title: definition.title, events: raw(r.id) }]
        : [];
    }),
    evidence: results.flatMap((r) => raw(r.id).map((event) => ({ signal: r.id, event }))),
    window: execution === null ? null : eventsWindow(execution, state.notBefore),
  };
}

/**
 * Where a pair's events are on the host's clock: all its steps, and the emulation's own part of them, from
 * cmstp's start to the clean-up's (both stamped on the host). null when cmstp never started.
 */
function eventsWindow(execution: ExecutionRecord, notBefore: string | null): SuggestPair['window'] {
  const start = Date.parse(execution.cmstp?.startedAt ?? '');
  if (execution.facts === null || !Number.isFinite(start)) return null;
  const skewMs = execution.facts.sensors?.clockSkewMs ?? 0;
  const end = evidenceUntil(execution)?.getTime() ?? Date.parse(execution.endedAt) + skewMs;
  return {
    hostname: execution.facts.hostname,
    steps: stepsWindow(execution, notBefore),
    attack: { since: new Date(start), until: new Date(end + 1) },
  };
}

/**
 * How far from a step's own times an event may be stamped and still be taken as that step's: the host's clock
 * is placed only as exactly as preflight measured its skew. Scenarios on one host run one after another, the
 * next starting 100 ms or more after this one ends on the embedded lab (seconds on a real one), so anything
 * further out is another scenario's, or someone else's, and is left out.
 */
const stepToleranceMs = 50;

/**
 * After the verdicts: the alerts on this host's events during the harness's own steps that are not on the
 * scenario's evidence, each with its step (the run's collateral, reported apart, never evidence). null when
 * the SIEM cannot list a host's alerts or nothing ran; an error is kept, never a verdict changed. It asks no
 * sooner than `settleMs` (the poll's initial delay) after the steps ended: verdicts can come within
 * milliseconds (push), before the clean-up's own events, the last the host sends, are in.
 */
async function collectCollateral(
  siem: SiemConnector,
  host: string,
  pair: {
    readonly execution: ExecutionRecord | null;
    readonly notBefore: string | null;
    readonly settleMs: number;
  },
  results: readonly SignalResult[],
  ctx: Pick<RunContext, 'signal' | 'secrets' | 'logger' | 'clock' | 'sleep'>,
): Promise<ScenarioResult['collateral']> {
  const { execution } = pair;
  if (!siem.findHostAlerts || execution === null || execution.steps.length === 0 || ctx.signal.aborted)
    return null;
  const settled = Date.parse(execution.endedAt) + pair.settleMs - ctx.clock.now().getTime();
  // An interrupt during the wait ends it early; the query then refuses, and says so in `error`.
  if (settled > 0) await ctx.sleep(settled, ctx.signal).catch(() => undefined);
  const skewMs = execution.facts?.sensors?.clockSkewMs ?? 0;
  const { since, until } = stepsWindow(execution, pair.notBefore);
  const evidenceEvents = new Set(results.flatMap((r) => r.observed.events.map((e) => e.ref)));
  const evidenceAlerts = new Set(results.flatMap((r) => r.observed.alerts.map((a) => a.ref)));
  try {
    const alerts = await siem.findHostAlerts({ host, since, until }, ctx.signal);
    return {
      alerts: alerts.flatMap((a) => {
        if (evidenceAlerts.has(a.ref) || a.eventRefs.some((ref) => evidenceEvents.has(ref))) return [];
        const step = stepAt(Date.parse(a.eventTime) - skewMs, Date.parse(a.eventTime), execution);
        if (step === null) return [];
        const { ref, ruleId, title, level, eventTime } = a;
        return [{ ref, ruleId, title, level, eventTime, eventRefs: [...a.eventRefs], step }];
      }),
      error: null,
    };
  } catch (caught) {
    const message = redact(errorMessage(caught), ctx.secrets);
    ctx.logger.warn(`the alerts on the harness's own steps could not be listed: ${message}`);
    return { alerts: [], error: message };
  }
}

/**
 * Everything the harness did on the host for one pair, on the host's clock (skew = host - harness, measured
 * at preflight), widened by the step tolerance. It never reaches back into the previous scenario on this
 * host: back to back, they can be milliseconds apart, and its events are its own.
 */
function stepsWindow(execution: ExecutionRecord, notBefore: string | null): TimeWindow {
  const skewMs = execution.facts?.sensors?.clockSkewMs ?? 0;
  return {
    since: new Date(
      Math.max(
        Date.parse(execution.startedAt) + skewMs - stepToleranceMs,
        notBefore === null ? -Infinity : Date.parse(notBefore) + skewMs,
      ),
    ),
    until: new Date(Date.parse(execution.endedAt) + skewMs + stepToleranceMs),
  };
}

/**
 * The harness step an event belongs to: clean-up from its start (on the target's clock) to the run's end,
 * else the step whose time holds it; null when it happened in none of this scenario's steps.
 */
function stepAt(harnessTime: number, hostTime: number, execution: ExecutionRecord): string | null {
  const cleanupAt = Date.parse(execution.cleanup.startedAt ?? '');
  const endedAt = Date.parse(execution.endedAt);
  if (Number.isFinite(cleanupAt) && hostTime >= cleanupAt && harnessTime <= endedAt + stepToleranceMs)
    return 'clean-up';
  // The step whose time holds the event, else the nearest within the tolerance. At a millisecond shared by
  // one step's end and the next one's start the earlier step wins: a step's own events come a round trip
  // after its start, while its predecessor's end is taken after its last effect.
  const distance = (s: (typeof execution.steps)[number]): number => {
    const start = Date.parse(s.startedAt);
    const end = start + s.durationMs;
    return harnessTime < start ? start - harnessTime : harnessTime > end ? harnessTime - end : 0;
  };
  let best: { step: string; distance: number } | null = null;
  for (const s of execution.steps) {
    const d = distance(s);
    if (d <= stepToleranceMs && (best === null || d < best.distance)) best = { step: s.step, distance: d };
  }
  return best?.step ?? null;
}

/** After the verdicts: close the alerts this test raised, if the SIEM config asks for it. Never changes a verdict. */
async function closeRaisedAlerts(
  siem: SiemConnector,
  results: readonly SignalResult[],
  note: string,
  ctx: Pick<RunContext, 'signal' | 'secrets' | 'logger'>,
): Promise<ScenarioResult['alertCleanup']> {
  const alerts = [...new Map(results.flatMap((r) => r.observed.alerts).map((a) => [a.ref, a])).values()];
  if (!siem.closeAlerts || alerts.length === 0 || ctx.signal.aborted) return null;
  try {
    const closed = await siem.closeAlerts(alerts, note, ctx.signal);
    return closed === null ? null : { closed, error: null };
  } catch (caught) {
    const message = redact(errorMessage(caught), ctx.secrets);
    ctx.logger.warn(`the alerts this test raised were not closed: ${message}`);
    return { closed: [], error: message };
  }
}

/** Builds the run record from whatever results exist; also used for partial results after a crash. */
export function summarizeRun(
  run: Pick<HarnessRun, 'lab' | 'version' | 'controls' | 'history' | 'shard' | 'timeWindowMs'> & {
    readonly siem: { readonly id: string; readonly tuning?: string; describe(): string };
  },
  results: readonly ScenarioResult[],
  times: { readonly startedAt: string; readonly finishedAt: string },
  ctx: Pick<RunContext, 'runId' | 'signal'>,
  options: {
    readonly crashed?: boolean;
    readonly notRun?: readonly NotRunPair[];
    readonly suggestions?: RunResult['suggestions'];
  } = {},
): RunResult {
  return assembleRun({
    runId: ctx.runId,
    version: run.version,
    ...times,
    lab: run.lab,
    siem: { id: run.siem.id, description: run.siem.describe(), tuning: run.siem.tuning ?? null },
    shard: run.shard ?? null,
    mergedFrom: null,
    results,
    notRun: options.notRun ?? [],
    controls: run.controls ?? [],
    history: run.history ?? [],
    interrupted: ctx.signal.aborted,
    crashed: options.crashed === true,
    ...(options.suggestions ? { suggestions: options.suggestions } : {}),
    timeWindowMs: run.timeWindowMs ?? null,
  });
}

/** Runs `work` over `items` with at most `limit` in flight at once. */
async function withConcurrency<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * The pair failed to connect at all (refused, unreachable, wrong host key, bad credentials): the host
 * cannot be used whatever the scenario, so its other pairs are not tried. A connection that broke later is
 * the scenario's own error; the next scenario connects afresh.
 */
function failedConnect(result: ScenarioResult): string | null {
  const steps = result.execution?.steps ?? [];
  if (steps.some((s) => s.step === 'connect' && s.ok)) return null;
  return steps.find((s) => s.step === 'connect' && !s.ok)?.detail ?? null;
}

/**
 * Plan -> render -> execute -> poll -> assert for every scenario on every host. Hosts run in parallel up
 * to `concurrency`; on one host, scenarios run one after another under that host's lock, so two runs
 * never overlap on a host. Results keep the plan's order. It returns what it made, never throws for what a
 * host or the SIEM did: an error that stops the run early still returns everything that finished.
 */
export async function runHarness(run: HarnessRun, ctx: RunContext): Promise<HarnessOutcome> {
  const startedAt = ctx.clock.now().toISOString();
  const byPair = new Map<string, PairOutcome>();
  const skipped = new Map<string, string>();
  let crash: HarnessOutcome['crash'] = null;
  try {
    await runHosts(run, ctx, byPair, skipped);
  } catch (error) {
    crash = { error };
  }
  const done = run.scenarios.flatMap((scenario) =>
    run.hosts.flatMap((host) => byPair.get(keyOf(scenario.spec.id, host.name)) ?? []),
  );
  const results = done.map((pair) => pair.result);
  const suggestions = await suggestionsFor(run, done, ctx);
  const reason = (key: string): string =>
    crash === null
      ? (skipped.get(key) ?? 'it never started')
      : `the run stopped with an error first: ${redact(errorMessage(crash.error), ctx.secrets)}`;
  const record = summarizeRun(run, results, { startedAt, finishedAt: ctx.clock.now().toISOString() }, ctx, {
    crashed: crash !== null,
    notRun: notRunPairs(run, results, reason),
    suggestions,
  });
  const files = suggestionFiles(suggestions).map((f) => ({ ...f, content: redact(f.content, ctx.secrets) }));
  return { run: record, evidence: [...done.flatMap((pair) => pair.evidence), ...files], crash };
}

/**
 * Detections for the run's signals captured but not detected, each proven on this run's events (suggest/).
 * The SIEM is asked for the events around each pair's steps; what cannot be proven is withheld with why,
 * and no failure here changes a verdict or stops the run.
 */
async function suggestionsFor(
  run: HarnessRun,
  done: readonly PairOutcome[],
  ctx: RunContext,
): Promise<RunResult['suggestions']> {
  if (ctx.signal.aborted) return { offered: [], withheld: [] };
  const eventsIn = async (host: string, window: TimeWindow, eventIds: readonly number[]) => {
    const probe = { id: 'cmstp-exec', correlation: 'window', telemetry: [{ eventIds, match: {} }] } as const;
    const found = await run.siem.findTelemetry(
      { ...window, host, marker: 'none', bindings: {}, processWindow: window, signals: [probe] },
      ctx.signal,
    );
    return found.get(probe.id) ?? [];
  };
  try {
    const made = await suggestDetections(
      done.map((pair) => pair.suggest),
      { eventsIn, date: ctx.clock.now().toISOString().slice(0, 10), runId: ctx.runId },
    );
    // A reason may quote a SIEM's error: redacted here, as every pair's error is.
    return {
      ...made,
      withheld: made.withheld.map((w) => ({ ...w, reason: redact(w.reason, ctx.secrets) })),
    };
  } catch (error) {
    const reason = `the suggestions could not be made: ${redact(errorMessage(error), ctx.secrets)}`;
    ctx.logger.warn(reason);
    return {
      offered: [],
      withheld: done.flatMap((pair) =>
        pair.suggest.gaps.map((gap) => ({
          scenario: pair.suggest.scenario,
          host: pair.suggest.host,
          signal: gap.signal,
          reason,
        })),
      ),
    };
  }
}

/** Each planned host under its lock, its scenarios in turn; a host that cannot be reached is tried once. */
async function runHosts(
  run: HarnessRun,
  ctx: RunContext,
  byPair: Map<string, PairOutcome>,
  skipped: Map<string, string>,
): Promise<void> {
  const planned = pairKeys(planPairs(run.scenarios, run.hosts, run.shard ?? null));
  const hosts = run.hosts.filter((h) => run.scenarios.some((s) => planned.has(keyOf(s.spec.id, h.name))));
  const shared: RunShared = { poller: new RunPoller(ctx), claimName: computerNameClaims() };
  await withConcurrency(hosts, run.concurrency ?? 1, async (host) => {
    const release = await (run.lockHost ?? noLock)(host);
    // A host that cannot be reached (or shows the wrong key) fails once: its other pairs are not run.
    let unreachable: string | null = null;
    let previousEnd: string | null = null;
    try {
      for (const scenario of run.scenarios) {
        const key = keyOf(scenario.spec.id, host.name);
        if (!planned.has(key)) continue;
        const stop = ctx.signal.aborted
          ? 'the run was interrupted before it started'
          : run.shouldStop?.() === true
            ? "the operator's stop file was present before it started"
            : unreachable;
        if (stop !== null) {
          skipped.set(key, stop);
          continue;
        }
        const pair = await runPair(run, scenario, host, ctx, shared, previousEnd);
        byPair.set(key, pair);
        previousEnd = pair.result.execution?.endedAt ?? previousEnd;
        const refused = failedConnect(pair.result);
        if (refused !== null)
          unreachable = `${host.name} could not be reached for ${scenario.spec.id}, so it was not tried again: ${refused}`;
      }
    } finally {
      await release();
    }
  });
}

/** Every planned pair with no result, in plan order, with why it did not run. */
export function notRunPairs(
  run: Pick<HarnessRun, 'scenarios' | 'hosts' | 'shard'>,
  results: readonly ScenarioResult[],
  reason: (key: string) => string,
): NotRunPair[] {
  const planned = pairKeys(planPairs(run.scenarios, run.hosts, run.shard ?? null));
  const ran = new Set(results.map((r) => keyOf(r.scenario.id, r.host.name)));
  return run.scenarios.flatMap((scenario) =>
    run.hosts.flatMap((host) => {
      const key = keyOf(scenario.spec.id, host.name);
      if (!planned.has(key) || ran.has(key)) return [];
      return [{ scenario: scenario.spec.id, host: host.name, reason: reason(key) }];
    }),
  );
}
