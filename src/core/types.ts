import type { RemoteOperation, SiemAlert, SiemEvent } from './plugins.js';
import type { SignalId } from './scenario-model.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/**
 * When what was observed arrived: `on-time`, or `late` (first seen only by the final sweep, after its
 * deadline: it happened, but not in time, so the verdict is `fail`). null when nothing was observed.
 */
export type Timing = 'on-time' | 'late';

/** How far the emulation got; decides which signals can be judged at all (see SignalPrerequisite). */
export interface ExecutionProgress {
  readonly staged: boolean;
  readonly started: boolean;
  readonly payloadRan: boolean;
}

export interface StepRecord {
  readonly step: string;
  readonly ok: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly detail: string;
}

export interface CleanupRecord {
  readonly ran: boolean;
  /** True only when an after-snapshot proved nothing the run created is left. */
  readonly verified: boolean;
  /** What the run added to the host: the after-run snapshot minus the one taken before (the clean-up diff). */
  readonly created: readonly string[];
  readonly removed: readonly string[];
  readonly residue: readonly string[];
  /**
   * The target's clock as clean-up began. Events stamped later are clean-up's own (its `cmstp /s /u` names
   * the marker too), so the poll never takes them as the run's evidence. null when clean-up did not report.
   */
  readonly startedAt: string | null;
  /** The profile uninstall (`cmstp /s /u`), when a registered profile was found; null otherwise. */
  readonly uninstall: {
    readonly inf: string;
    readonly exitCode: number | null;
    readonly timedOut: boolean;
  } | null;
}

/** What preflight learned about the host's sensors; null where it could not tell. */
export interface SensorFacts {
  readonly sysmonRunning: boolean;
  /** Sysmon event types with rules in the active configuration (ProcessCreate, ImageLoad, ...). */
  readonly sysmonEventTypes: readonly string[] | null;
  readonly security4688: boolean | null;
  readonly security4688CommandLine: boolean;
  readonly forwarders: readonly string[];
  readonly freeDiskBytes: number | null;
  /** The host's clock minus the harness's, measured at preflight (ms). */
  readonly clockSkewMs: number | null;
}

export interface HostFacts {
  readonly hostname: string;
  readonly user: string;
  readonly integrityLevel: string;
  readonly os: string;
  readonly powershell: string;
  readonly sshServer: string;
  readonly sensors: SensorFacts | null;
}

/** Whether the host's sensors can record a signal at all, from preflight. */
export type Readiness = 'ready' | 'blind' | 'unknown';

/** One request the payload server answered: evidence that the host really fetched the scriptlet. */
export interface PayloadFetch {
  readonly time: string;
  readonly source: string;
  readonly host: string;
  readonly userAgent: string;
  readonly path: string;
  readonly status: number;
}

export interface ExecutionRecord {
  readonly status: 'executed' | 'failed' | 'error';
  readonly reason: string;
  readonly progress: ExecutionProgress;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly facts: HostFacts | null;
  readonly payload: { readonly remotePath: string; readonly sha256: string } | null;
  readonly cmstp: {
    readonly commandLine: string;
    readonly pid: number | null;
    readonly exitCode: number | null;
    readonly timedOut: boolean;
    readonly startedAt: string | null;
    readonly endedAt: string | null;
    /** Processes carrying the marker still running when cmstp exited (killed at once if it timed out). */
    readonly markerProcesses: readonly {
      readonly pid: number;
      readonly parentPid: number;
      readonly name: string;
    }[];
  } | null;
  readonly steps: readonly StepRecord[];
  readonly cleanup: CleanupRecord;
  /** The pipeline canary written to the host's event log after preflight; null if it could not be written. */
  readonly canary: { readonly text: string; readonly writtenAt: string } | null;
  /** Requests for this run's scriptlet seen by the payload server. */
  readonly payloadFetches: readonly PayloadFetch[];
}

export interface EventEvidence {
  readonly ref: string;
  readonly eventId: number;
  readonly time: string;
  readonly indexedAt: string | null;
  /** The fields detections key on; the full event stays in the SIEM under `ref`. */
  readonly summary: Readonly<Record<string, string>>;
}

export interface AlertEvidence {
  readonly ref: string;
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly time: string;
  readonly eventRefs: readonly string[];
  /** ATT&CK IDs the SIEM attached to the alert (T1218.003, TA0005); empty when it says none. */
  readonly attack: readonly string[];
}

/** What the poller saw for one signal. `error` is set when the SIEM could not be asked. */
export interface SignalObservation {
  readonly signal: SignalId;
  readonly events: readonly EventEvidence[];
  readonly alerts: readonly AlertEvidence[];
  /** Harness clock time when the first event / alert was seen. */
  readonly firstSeenAt: string | null;
  readonly alertFirstSeenAt: string | null;
  readonly polls: number;
  readonly error: string | null;
  /** Events / alerts were first seen only in the final sweep, after their deadline. */
  readonly capturedLate: boolean;
  readonly detectedLate: boolean;
  /**
   * Preflight found the sensor blind to this signal and the wait ended, before its deadline, once the other
   * signals were settled: nothing of it had arrived by then.
   */
  readonly notAwaited?: boolean;
  /**
   * Whether absence could be observed, not just unseen: `telemetry`, a query covering this signal succeeded
   * after the capture deadline and found nothing; `alerts`, a detections query that succeeded covered every
   * event of the signal (after the deadline, or at ingest for a SIEM whose rules run there). Absent: neither.
   */
  readonly absence?: { readonly telemetry: boolean; readonly alerts: boolean };
  /** The events and alerts as the connector returned them, every field: they go to the evidence bundle. */
  readonly raw?: { readonly events: readonly SiemEvent[]; readonly alerts: readonly SiemAlert[] };
}

/** One query the harness sent to the SIEM, kept as evidence of how each verdict was reached. */
export interface QueryRecord {
  readonly kind: 'telemetry' | 'detections' | 'trigger';
  /** Harness clock. */
  readonly at: string;
  readonly durationMs: number;
  readonly probes: readonly string[];
  readonly hits: number;
  /** The query as the connector sends it (SPL, KQL, DSL, SQL), when it can say. */
  readonly text: string | null;
  readonly error: string | null;
}

/**
 * Whether events from this host were shown to reach the SIEM during the run: by the run's own evidence or by
 * the canary. `unproven` (the canary was written and never seen) turns "not captured" into `inconclusive`.
 */
export interface PipelineProof {
  readonly status: 'proven' | 'unproven' | 'unknown';
  readonly reason: string;
  readonly canary: {
    readonly text: string;
    readonly writtenAt: string;
    readonly seenAt: string | null;
    readonly event: EventEvidence | null;
  } | null;
}

/** What the poll learned about the pipeline canary. */
export interface CanaryObservation {
  readonly event: EventEvidence | null;
  readonly seenAt: string | null;
}

/** The highest tier seen: an alert tied to the events, the events alone, or nothing. */
export type Tier = 'alert' | 'telemetry' | 'none';

/**
 * Whether a signal could be judged: `evaluated`, `inconclusive` (the reason says why), or `blind-spot`
 * (preflight found the host's sensors cannot record it, and nothing arrived).
 */
export type Evaluation = 'evaluated' | 'inconclusive' | 'blind-spot';

/** MITRE ATT&CK Evaluations detection categories (anchors-mission.md 1.13). */
export type AttackEvalCategory = 'Not Applicable' | 'None' | 'Telemetry' | 'General' | 'Tactic' | 'Technique';

/** VECTR's defense outcomes that a SIEM can show (Blocked is an EDR's). TBD: not evaluated. */
export type VectrOutcome = 'Alerted' | 'Logged' | 'None' | 'TBD';

/** One signal's outcome in the vocabularies blue and compliance teams already use. */
export interface Outcome {
  readonly tier: Tier;
  readonly evaluation: Evaluation;
  /** null when the signal was not evaluated (inconclusive). */
  readonly attackEvaluation: {
    readonly category: AttackEvalCategory;
    /** `Delayed`: first seen only after its deadline. */
    readonly modifiers: readonly 'Delayed'[];
  } | null;
  readonly vectr: VectrOutcome;
}

export interface SignalResult {
  readonly id: SignalId;
  readonly expected: {
    readonly captured: boolean;
    readonly detected: boolean | null;
    readonly rule: string | null;
  };
  readonly observed: {
    readonly captured: boolean | null;
    readonly detected: boolean | null;
    readonly events: readonly EventEvidence[];
    readonly alerts: readonly AlertEvidence[];
    readonly firstSeenAt: string | null;
    /** From cmstp start to the first event seen in the SIEM. */
    readonly latencyMs: number | null;
    readonly detectionLatencyMs: number | null;
  };
  readonly verdict: Verdict;
  /** Whether what was seen (telemetry, then alerts) arrived within its deadline; null when nothing was. */
  readonly timing: Timing | null;
  readonly reason: string;
  /** From preflight: whether the host's sensors can record this signal at all. */
  readonly readiness: Readiness;
  readonly outcome: Outcome;
}

/** Verdict counts and detection speed, for a scenario or a whole run. */
export interface ResultSummary {
  readonly signals: number;
  readonly pass: number;
  readonly fail: number;
  /** Signals whose telemetry or alert arrived only after its deadline (their verdict is `fail`). */
  readonly late: number;
  readonly inconclusive: number;
  readonly tiers: { readonly alert: number; readonly telemetry: number; readonly none: number };
  /** Mean time to detect: the mean detection latency over the signals an alert was seen for; null if none. */
  readonly mttdMs: number | null;
  /** Mean time for telemetry to reach the SIEM, over the signals captured; null if none. */
  readonly meanCaptureLatencyMs: number | null;
}

/** One exchange with the target, as the executor saw it: the evidence bundle's command transcript. */
export interface TranscriptEntry {
  readonly kind: 'run' | 'upload';
  /** The operation's name (preflight, run-cmstp, cleanup, ...) or the uploaded file's remote path. */
  readonly name: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /** The script sent (run) or the file's SHA-256 (upload). */
  readonly sent: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the exchange itself failed (connection lost, refused, ...). */
  readonly error: string | null;
}

/** What each file of a scenario's evidence bundle holds. */
export type EvidenceKind =
  'payload' | 'scriptlet' | 'transcript' | 'preflight' | 'siem-signal' | 'queries' | 'cleanup';

/** One file of the evidence bundle, as listed in run.json (its hash is also in manifest.json). */
export interface EvidenceEntry {
  /** Relative to the run's report folder. */
  readonly path: string;
  readonly kind: EvidenceKind;
  readonly sha256: string;
  readonly bytes: number;
  /** The signal a `siem-signal` file is about; null otherwise. */
  readonly signal: SignalId | null;
}

export type ScenarioStatus = 'passed' | 'failed' | 'inconclusive' | 'error' | 'cleanup-failed';

/**
 * An alert that fired on one of the harness's own steps (preflight, staging, the canary, clean-up, or the
 * wrapper that starts cmstp) rather than on the test's evidence: what a SOC must tune out, never evidence.
 */
export interface CollateralAlert {
  readonly ref: string;
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  /** When the event it fired on happened (the host's clock). */
  readonly eventTime: string;
  readonly eventRefs: readonly string[];
  /** The harness step running then, `clean-up`, `canary`, or `between steps`. */
  readonly step: string;
}

export interface ScenarioResult {
  readonly scenario: {
    readonly id: string;
    readonly title: string;
    readonly file: string;
    readonly sha256: string;
  };
  readonly host: { readonly name: string; readonly address: string; readonly simulated: boolean };
  readonly marker: string;
  readonly status: ScenarioStatus;
  readonly execution: ExecutionRecord | null;
  readonly pipeline: PipelineProof;
  /** Every query the poll sent for this scenario and host, with its hit count. */
  readonly queries: readonly QueryRecord[];
  /** The alerts this test raised that were closed afterwards (`closeAlerts` in the SIEM config); null if not asked. */
  readonly alertCleanup: { readonly closed: readonly string[]; readonly error: string | null } | null;
  /**
   * Alerts on this host during the run that are not on the test's evidence; null when the SIEM cannot list a
   * host's alerts (only the local SIEM can today) or nothing ran on the host.
   */
  readonly collateral: {
    readonly alerts: readonly CollateralAlert[];
    readonly error: string | null;
  } | null;
  readonly signals: readonly SignalResult[];
  readonly summary: ResultSummary;
  /** The evidence bundle's files for this scenario and host (under evidence/), with their hashes. */
  readonly evidence: readonly EvidenceEntry[];
  readonly error: { readonly code: string; readonly message: string; readonly hint: string | null } | null;
}

/** A control a run is evidence for, from the control-mapping file (controls/default.yaml). */
export interface ControlDefinition {
  readonly framework: string;
  readonly id: string;
  readonly title: string;
  /** telemetry: met when the expected events were recorded; detection: met when the signal passed in full. */
  readonly basis: 'telemetry' | 'detection';
  readonly statement: string;
  /** null: every signal / scenario. */
  readonly signals: readonly SignalId[] | null;
  readonly scenarios: readonly string[] | null;
  /** each-signal: met only when every signal in scope was met in this run ("for each AN0932 signal"). */
  readonly coverage: 'any' | 'each-signal';
}

/** `demonstration`: the evidence came from the simulated lab, which shows the harness, not a control. */
export type ControlStatus = 'met' | 'not-met' | 'not-evaluated' | 'demonstration';

/** One scenario x host x signal that bears on a control. */
export interface ControlEvidence {
  readonly scenario: string;
  readonly host: string;
  readonly signal: SignalId;
  readonly status: ControlStatus;
}

/** How this run bears on one control: each covered scenario x host x signal, and the roll-up. */
export interface ControlResult extends ControlDefinition {
  readonly status: ControlStatus;
  readonly evidence: readonly ControlEvidence[];
  /** The evidence that set the status: what failed for not-met, what was unjudged for not-evaluated, else all. */
  readonly decidedBy: readonly ControlEvidence[];
  /** For an each-signal control: the signals in scope with no met evidence in this run. */
  readonly missing: readonly SignalId[];
}

/** A signal that passed in the previous comparable run (same lab kind and SIEM) and fails now. */
export interface Regression {
  readonly scenario: string;
  readonly host: string;
  readonly signal: SignalId;
  readonly previousRunId: string;
  readonly previousVerdict: 'pass';
  readonly verdict: 'fail';
}

/** One run as the run index (reports/index.json) keeps it: enough for history, trends and regressions. */
export interface RunIndexEntry {
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: RunStatus;
  readonly lab: LabKind;
  readonly siem: string;
  readonly summary: Pick<ResultSummary, 'signals' | 'pass' | 'fail' | 'late' | 'inconclusive' | 'mttdMs'>;
  readonly regressions: readonly Regression[];
  /** The run's own report page, relative to the reports folder; null when no HTML report was written. */
  readonly report: string | null;
  readonly manifestSha256: string | null;
  readonly signals: readonly {
    readonly scenario: string;
    readonly host: string;
    readonly signal: SignalId;
    readonly verdict: Verdict;
    readonly timing: Timing | null;
    readonly tier: Tier;
    readonly latencyMs: number | null;
    readonly detectionLatencyMs: number | null;
  }[];
}

export interface RunIndex {
  readonly indexVersion: 1;
  /** Oldest first. */
  readonly runs: readonly RunIndexEntry[];
}

export type RunStatus =
  'passed' | 'failed' | 'inconclusive' | 'error' | 'cleanup-failed' | 'interrupted' | 'incomplete';

/** What the run's hosts were: all simulated, all real, or some of each (each result says which). */
export type LabKind = 'simulated' | 'real' | 'mixed';

/** A planned scenario x host pair that never ran, and why: a run that has any is not PASSED. */
export interface NotRunPair {
  readonly scenario: string;
  readonly host: string;
  readonly reason: string;
}

export interface RunResult {
  /** run.json's format (schema/run.schema.json); bumped on any incompatible change. */
  readonly schemaVersion: 2;
  readonly runId: string;
  readonly harness: { readonly name: 'purple-harness'; readonly version: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly lab: LabKind;
  readonly siem: { readonly id: string; readonly description: string };
  /** The slice of the plan this run covered (`--shard i/n`); null for the whole plan. */
  readonly shard: { readonly index: number; readonly count: number } | null;
  /** Set by `report merge`: the runs (shards) this one was merged from. */
  readonly mergedFrom: readonly string[] | null;
  readonly status: RunStatus;
  readonly summary: ResultSummary & { readonly scenarios: number };
  readonly results: readonly ScenarioResult[];
  /** Planned pairs that never ran (stop file, interrupt, crash, a crashed shard); empty when all ran. */
  readonly notRun: readonly NotRunPair[];
  /** The controls this run is evidence for, each met, not met or not evaluated. */
  readonly controls: readonly ControlResult[];
  /** Signals that passed in the previous comparable run and fail now (exit code 4). */
  readonly regressions: readonly Regression[];
}

/** The kind of lab a set of hosts makes. */
export function labKindOf(hosts: readonly { readonly simulated: boolean }[]): LabKind {
  const simulated = hosts.filter((h) => h.simulated).length;
  return simulated === 0 ? 'real' : simulated === hosts.length ? 'simulated' : 'mixed';
}

/** The banner every output carries when any result comes from the simulator; null for a real lab. */
export function labNotice(run: Pick<RunResult, 'lab' | 'results'>): string | null {
  if (run.lab === 'simulated')
    return 'SIMULATED LAB: every result comes from the embedded lab simulator and local SIEM, not from a real Windows host or a production SIEM. It demonstrates the harness, not your detection coverage.';
  if (run.lab === 'mixed') {
    const names = [...new Set(run.results.filter((r) => r.host.simulated).map((r) => r.host.name))];
    return `SIMULATED HOSTS IN THIS RUN: the results for ${names.length > 0 ? names.join(', ') : 'some hosts'} come from the embedded lab simulator, not a real host; only the other hosts' results show your detection coverage.`;
  }
  return null;
}

/** A short tag for titles: ` (SIMULATED LAB)`, ` (SIMULATED HOSTS)` for a mixed lab, or nothing. */
export function labTag(lab: LabKind): string {
  return lab === 'simulated' ? ' (SIMULATED LAB)' : lab === 'mixed' ? ' (SIMULATED HOSTS)' : '';
}

/** The mean of the known values; null when none is known. */
export function mean(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

const roundedMean = (values: readonly (number | null)[]): number | null => {
  const m = mean(values);
  return m === null ? null : Math.round(m);
};

/** `1.2 s`, `45 s`, or `n/a`: latencies as people read them in reports. */
export function formatMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${String(Math.round(ms / 1000))} s`;
}

/** `Technique`, `Telemetry (Delayed)`, or `not evaluated`. */
export function evalsLabel(outcome: Outcome): string {
  const evals = outcome.attackEvaluation;
  if (evals === null) return 'not evaluated';
  return evals.modifiers.length === 0 ? evals.category : `${evals.category} (${evals.modifiers.join(', ')})`;
}

/** Rolls signal results up into counts and mean latencies (for a scenario, or for a run). */
export function summarizeSignals(signals: readonly SignalResult[]): ResultSummary {
  const count = (test: (s: SignalResult) => boolean): number => signals.filter(test).length;
  return {
    signals: signals.length,
    pass: count((s) => s.verdict === 'pass'),
    fail: count((s) => s.verdict === 'fail'),
    late: count((s) => s.timing === 'late'),
    inconclusive: count((s) => s.verdict === 'inconclusive'),
    tiers: {
      alert: count((s) => s.outcome.tier === 'alert'),
      telemetry: count((s) => s.outcome.tier === 'telemetry'),
      none: count((s) => s.outcome.tier === 'none'),
    },
    mttdMs: roundedMean(
      signals.filter((s) => s.outcome.tier === 'alert').map((s) => s.observed.detectionLatencyMs),
    ),
    meanCaptureLatencyMs: roundedMean(
      signals.filter((s) => s.outcome.tier !== 'none').map((s) => s.observed.latencyMs),
    ),
  };
}

/**
 * A scenario's status. Leftovers on the host outrank every verdict: a dirty lab host must be seen first.
 * Clean-up that never ran because nothing ever reached the host is not "dirty".
 */
export function scenarioStatus(
  signals: readonly SignalResult[],
  error: boolean,
  cleanup?: CleanupRecord,
): ScenarioStatus {
  if (cleanup?.ran === true && !cleanup.verified) return 'cleanup-failed';
  if (error) return 'error';
  if (signals.some((s) => s.verdict === 'fail')) return 'failed';
  if (signals.some((s) => s.verdict === 'inconclusive')) return 'inconclusive';
  return 'passed';
}

/**
 * Severity order for a run: an infrastructure gap outranks a failed assertion (exit 3 > 1). A run that did
 * not evaluate its whole plan (pairs not run, or nothing planned at all) is never passed.
 */
export function runStatus(
  results: readonly ScenarioResult[],
  run: { readonly interrupted: boolean; readonly crashed?: boolean; readonly notRun: readonly NotRunPair[] },
): RunStatus {
  if (run.interrupted) return 'interrupted';
  if (results.some((r) => r.status === 'cleanup-failed')) return 'cleanup-failed';
  if (run.crashed === true || results.some((r) => r.status === 'error')) return 'error';
  if (run.notRun.length > 0 || results.length === 0) return 'incomplete';
  if (results.some((r) => r.status === 'inconclusive')) return 'inconclusive';
  if (results.some((r) => r.status === 'failed')) return 'failed';
  return 'passed';
}

/** A file the payload server serves under the run's folder (/<marker>/...). */
export interface ServedFile {
  readonly host: string;
  readonly path: string;
  readonly url: string;
  readonly content: string;
  readonly sha256: string;
}

/** A file the harness uploads to the target before cmstp runs. */
export interface StagedFile {
  readonly remotePath: string;
  readonly content: string;
  readonly sha256: string;
}

/** What the render stage hands to the execute stage for one scenario on one host. */
export interface RenderedEmulation {
  readonly marker: string;
  /** Windows path of the run's own folder on the target. */
  readonly runDir: string;
  /** The file staged before the launch (the INF); null when nothing is staged (a direct COM call). */
  readonly payload: StagedFile | null;
  readonly markerPath: string;
  /** A scriptlet the payload server hands out during the run, for remote-SCT emulations. */
  readonly scriptlet: ServedFile | null;
  /** A scriptlet staged beside the INF, for an SCT named by a path or a share path (`scriptlet.via`). */
  readonly stagedScriptlet: StagedFile | null;
  /**
   * The INF again, served by the payload server, when cmstp is given its URL (`inf.via: url`); the staged
   * copy stays for clean-up's uninstall.
   */
  readonly servedInf: ServedFile | null;
  /** What starts the emulation: cmstp's command line, or the COM call. */
  readonly cmstpCommandLine: string;
  /**
   * How the harness proves the payload ran: the marker file exists, cmstp exited 0, or there is no payload;
   * `started` for a cmstp run without /s, which waits for a confirmation dialog nobody can answer over SSH
   * and runs nothing: only its start is the point, and being killed at the deadline is its expected end.
   */
  readonly payloadEvidence: 'marker-file' | 'exit-code' | 'none' | 'started';
  readonly operations: {
    /**
     * Makes the working folder (C:\\ProgramData\\purple-harness) administrators-only, or refuses one someone
     * else created: the first operation, so nothing is uploaded to a folder others can write.
     */
    readonly secureFolder: RemoteOperation;
    readonly preflight: RemoteOperation;
    /** Writes the pipeline canary (core/canary.ts) to the host's event log. */
    readonly canary: RemoteOperation;
    readonly snapshot: RemoteOperation;
    /** Takes the target-side host lock (a file on the host), so runs from any machine never overlap. */
    readonly lock: RemoteOperation;
    /** Releases the lock if, and only if, this run holds it. */
    readonly unlock: RemoteOperation;
    readonly run: RemoteOperation;
    /** `cmstp /s /u` for a profile the run registered; a no-op on the host when there is none. */
    readonly uninstall: RemoteOperation;
    cleanup(createdKeys: readonly string[]): RemoteOperation;
  };
}
