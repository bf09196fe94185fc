import { z } from 'zod';
import { Boundary, SignalId } from './scenario-model.js';

/*
 * run.json, defined once: the zod schemas below are the format (schema/run.schema.json is generated from
 * them) and every type of the run record is inferred from them. Strict: run.json is our own format, so an
 * unknown key means the file is not what this version wrote. Defaults fill fields older runs lack.
 */

/** The run record's types are read, never changed, once assembled: every level is readonly. */
export type Frozen<T> = T extends readonly (infer U)[]
  ? readonly Frozen<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;
type Of<S extends z.ZodType> = Frozen<z.output<S>>;

const iso = z.string();
const nullableIso = iso.nullable();
const ms = z.number().nullable();

const verdict = z.enum(['pass', 'fail', 'inconclusive']);
export type Verdict = Of<typeof verdict>;

/**
 * When what was observed arrived: `on-time`, or `late` (first seen only by the final sweep, after its
 * deadline: it happened, but not in time, so the verdict is `fail`). null when nothing was observed.
 */
const timing = z.enum(['on-time', 'late']);
export type Timing = Of<typeof timing>;

/** How far the emulation got; decides which signals can be judged at all (see SignalPrerequisite). */
const executionProgress = z.strictObject({
  staged: z.boolean(),
  started: z.boolean(),
  payloadRan: z.boolean(),
});
export type ExecutionProgress = Of<typeof executionProgress>;

const eventEvidence = z.strictObject({
  ref: z.string(),
  eventId: z.number(),
  time: iso,
  indexedAt: nullableIso,
  /** The fields detections key on; the full event stays in the SIEM under `ref`. */
  summary: z.record(z.string(), z.string()),
});
export type EventEvidence = Of<typeof eventEvidence>;

const alertEvidence = z.strictObject({
  ref: z.string(),
  ruleId: z.string(),
  title: z.string(),
  level: z.string(),
  time: iso,
  eventRefs: z.array(z.string()),
  /** ATT&CK IDs the SIEM attached to the alert (T1218.003, TA0005); empty when it says none. */
  attack: z.array(z.string()),
});
export type AlertEvidence = Of<typeof alertEvidence>;

const stepRecord = z.strictObject({
  step: z.string(),
  ok: z.boolean(),
  startedAt: iso,
  durationMs: z.number(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  detail: z.string(),
});
export type StepRecord = Of<typeof stepRecord>;

const cleanupRecord = z.strictObject({
  ran: z.boolean(),
  /** True only when an after-snapshot proved nothing the run created is left. */
  verified: z.boolean(),
  /** What the run added to the host: the after-run snapshot minus the one taken before (the clean-up diff). */
  created: z.array(z.string()),
  removed: z.array(z.string()),
  residue: z.array(z.string()),
  /**
   * The target's clock as clean-up began. Events stamped later are clean-up's own (its `cmstp /s /u` names
   * the marker too), so the poll never takes them as the run's evidence. null when clean-up did not report.
   */
  startedAt: nullableIso,
  /** The profile uninstall (`cmstp /s /u`), when a registered profile was found; null otherwise. */
  uninstall: z
    .strictObject({ inf: z.string(), exitCode: z.number().nullable(), timedOut: z.boolean() })
    .nullable(),
});
export type CleanupRecord = Of<typeof cleanupRecord>;

/** What preflight reports about the sensors: the host's preflight frame and run.json share these fields. */
export const sensorFactFields = {
  sysmonRunning: z.boolean(),
  /** Sysmon event types with rules in the active configuration (ProcessCreate, ImageLoad, ...). */
  sysmonEventTypes: z.array(z.string()).nullable(),
  security4688: z.boolean().nullable(),
  security4688CommandLine: z.boolean(),
  forwarders: z.array(z.string()),
  freeDiskBytes: z.number().nullable(),
};

/** What preflight learned about the host's sensors; null where it could not tell. */
const sensorFacts = z.strictObject({
  ...sensorFactFields,
  /** The host's clock minus the harness's, measured at preflight (ms). */
  clockSkewMs: z.number().nullable(),
});
export type SensorFacts = Of<typeof sensorFacts>;

/** Who and what the host is, from preflight: shared with the host's preflight frame too. */
export const hostFactFields = {
  hostname: z.string(),
  user: z.string(),
  integrityLevel: z.string(),
  os: z.string(),
  powershell: z.string(),
  sshServer: z.string(),
};

const hostFacts = z.strictObject({ ...hostFactFields, sensors: sensorFacts.nullable() });
export type HostFacts = Of<typeof hostFacts>;

/** Whether the host's sensors can record a signal at all, from preflight. */
const readiness = z.enum(['ready', 'blind', 'unknown']);
export type Readiness = Of<typeof readiness>;

/** One request the payload server answered: evidence that the host really fetched the scriptlet. */
const payloadFetch = z.strictObject({
  time: iso,
  source: z.string(),
  host: z.string(),
  userAgent: z.string(),
  path: z.string(),
  status: z.number(),
});
export type PayloadFetch = Of<typeof payloadFetch>;

const executionRecord = z.strictObject({
  status: z.enum(['executed', 'failed', 'error']),
  reason: z.string(),
  progress: executionProgress,
  startedAt: iso,
  endedAt: iso,
  facts: hostFacts.nullable(),
  payload: z.strictObject({ remotePath: z.string(), sha256: z.string() }).nullable(),
  cmstp: z
    .strictObject({
      commandLine: z.string(),
      pid: z.number().nullable(),
      exitCode: z.number().nullable(),
      timedOut: z.boolean(),
      startedAt: nullableIso,
      endedAt: nullableIso,
      /** Processes carrying the marker still running when cmstp exited (killed at once if it timed out). */
      markerProcesses: z.array(z.strictObject({ pid: z.number(), parentPid: z.number(), name: z.string() })),
    })
    .nullable(),
  steps: z.array(stepRecord),
  cleanup: cleanupRecord,
  /** The pipeline canary written to the host's event log after preflight; null if it could not be written. */
  canary: z.strictObject({ text: z.string(), writtenAt: iso }).nullable(),
  /** Requests for this run's scriptlet seen by the payload server. */
  payloadFetches: z.array(payloadFetch),
});
export type ExecutionRecord = Of<typeof executionRecord>;

/** One query the harness sent to the SIEM, kept as evidence of how each verdict was reached. */
const queryRecord = z.strictObject({
  kind: z.enum(['telemetry', 'detections', 'trigger']),
  /** Harness clock. */
  at: iso,
  durationMs: z.number(),
  probes: z.array(z.string()),
  hits: z.number(),
  /** The query as the connector sends it (SPL, KQL, DSL, SQL), when it can say: this pair's part of the round. */
  text: z.string().nullable(),
  error: z.string().nullable(),
  /**
   * The run-wide poll round it went out in: its number, how many pairs (scenario x host) it asked for, and
   * how many SIEM queries carried them (one, unless the SIEM's declared limits split the round).
   */
  round: z
    .strictObject({
      number: z.number().int().min(1),
      pairs: z.number().int().min(1),
      queries: z.number().int().min(0),
    })
    .optional(),
});
export type QueryRecord = Of<typeof queryRecord>;

/**
 * Whether events from this host were shown to reach the SIEM during the run: by the run's own evidence or by
 * the canary. `unproven` (the canary was written and never seen) turns "not captured" into `inconclusive`.
 */
const pipelineProof = z.strictObject({
  status: z.enum(['proven', 'unproven', 'unknown']),
  reason: z.string(),
  canary: z
    .strictObject({ text: z.string(), writtenAt: iso, seenAt: nullableIso, event: eventEvidence.nullable() })
    .nullable(),
});
export type PipelineProof = Of<typeof pipelineProof>;

/** The highest tier seen: an alert tied to the events, the events alone, or nothing. */
const tier = z.enum(['alert', 'telemetry', 'none']);
export type Tier = Of<typeof tier>;

/**
 * Whether a signal could be judged: `evaluated`, `inconclusive` (the reason says why), or `blind-spot`
 * (preflight found the host's sensors cannot record it, and nothing arrived).
 */
const evaluation = z.enum(['evaluated', 'inconclusive', 'blind-spot']);
export type Evaluation = Of<typeof evaluation>;

/** MITRE ATT&CK Evaluations detection categories (anchors-mission.md 1.13). */
const attackEvalCategory = z.enum(['Not Applicable', 'None', 'Telemetry', 'General', 'Tactic', 'Technique']);
export type AttackEvalCategory = Of<typeof attackEvalCategory>;

/** VECTR's defense outcomes that a SIEM can show (Blocked is an EDR's). TBD: not evaluated. */
const vectrOutcome = z.enum(['Alerted', 'Logged', 'None', 'TBD']);
export type VectrOutcome = Of<typeof vectrOutcome>;

/** One signal's outcome in the vocabularies blue and compliance teams already use. */
const outcome = z.strictObject({
  tier,
  evaluation,
  /** null when the signal was not evaluated (inconclusive). */
  attackEvaluation: z
    .strictObject({
      category: attackEvalCategory,
      /** `Delayed`: first seen only after its deadline. */
      modifiers: z.array(z.literal('Delayed')),
    })
    .nullable(),
  vectr: vectrOutcome,
});
export type Outcome = Of<typeof outcome>;

const signalResult = z.strictObject({
  id: SignalId,
  expected: z.strictObject({
    captured: z.boolean(),
    detected: z.boolean().nullable(),
    rule: z.string().nullable(),
  }),
  observed: z.strictObject({
    captured: z.boolean().nullable(),
    detected: z.boolean().nullable(),
    events: z.array(eventEvidence),
    alerts: z.array(alertEvidence),
    firstSeenAt: nullableIso,
    /** From cmstp start to the first event seen in the SIEM. */
    latencyMs: ms,
    detectionLatencyMs: ms,
  }),
  verdict,
  /** Whether what was seen (telemetry, then alerts) arrived within its deadline; null when nothing was. */
  timing: timing.nullable(),
  reason: z.string(),
  /** From preflight: whether the host's sensors can record this signal at all. */
  readiness,
  outcome,
});
export type SignalResult = Of<typeof signalResult>;

/** Verdict counts and detection speed, for a scenario or a whole run. */
const resultSummary = z.strictObject({
  signals: z.number(),
  pass: z.number(),
  fail: z.number(),
  /** Signals whose telemetry or alert arrived only after its deadline (their verdict is `fail`). */
  late: z.number(),
  inconclusive: z.number(),
  tiers: z.strictObject({ alert: z.number(), telemetry: z.number(), none: z.number() }),
  /** Mean time to detect: the mean detection latency over the signals an alert was seen for; null if none. */
  mttdMs: ms,
  /** Mean time for telemetry to reach the SIEM, over the signals captured; null if none. */
  meanCaptureLatencyMs: ms,
});
export type ResultSummary = Of<typeof resultSummary>;

/** What each file of a scenario's evidence bundle holds. */
const evidenceKind = z.enum([
  'payload',
  'scriptlet',
  'transcript',
  'preflight',
  'siem-signal',
  'queries',
  'cleanup',
]);
export type EvidenceKind = Of<typeof evidenceKind>;

/** One file of the evidence bundle, as listed in run.json (its hash is also in manifest.json). */
const evidenceEntry = z.strictObject({
  /** Relative to the run's report folder. */
  path: z.string(),
  kind: evidenceKind,
  sha256: z.string(),
  bytes: z.number(),
  /** The signal a `siem-signal` file is about; null otherwise. */
  signal: SignalId.nullable(),
});
export type EvidenceEntry = Of<typeof evidenceEntry>;

const scenarioStatus = z.enum(['passed', 'failed', 'inconclusive', 'error', 'cleanup-failed']);
export type ScenarioStatus = Of<typeof scenarioStatus>;

/**
 * An alert that fired on one of the harness's own steps (preflight, staging, the canary, clean-up, or the
 * wrapper that starts cmstp) rather than on the test's evidence: what a SOC must tune out, never evidence.
 */
const collateralAlert = z.strictObject({
  ref: z.string(),
  ruleId: z.string(),
  title: z.string(),
  level: z.string(),
  /** When the event it fired on happened (the host's clock). */
  eventTime: iso,
  eventRefs: z.array(z.string()),
  /** The harness step running then, `clean-up`, `canary`, or `between steps`. */
  step: z.string(),
});
export type CollateralAlert = Of<typeof collateralAlert>;

const scenarioResult = z.strictObject({
  scenario: z.strictObject({
    id: z.string(),
    title: z.string(),
    file: z.string(),
    sha256: z.string(),
    /** A tuning boundary case (`tuning plan`): its element, side and label; absent for any other scenario. */
    boundary: Boundary.optional(),
  }),
  host: z.strictObject({ name: z.string(), address: z.string(), simulated: z.boolean() }),
  marker: z.string(),
  status: scenarioStatus,
  execution: executionRecord.nullable(),
  pipeline: pipelineProof,
  /** Every query the poll sent for this scenario and host, with its hit count. */
  queries: z.array(queryRecord),
  /** The alerts this test raised that were closed afterwards (`closeAlerts` in the SIEM config); null if not asked. */
  alertCleanup: z.strictObject({ closed: z.array(z.string()), error: z.string().nullable() }).nullable(),
  /**
   * Alerts on this host during the run that are not on the test's evidence; null when the SIEM cannot list a
   * host's alerts (only the local SIEM can today) or nothing ran on the host.
   */
  collateral: z
    .strictObject({ alerts: z.array(collateralAlert), error: z.string().nullable() })
    // Runs recorded before collateral was reported have none.
    .nullable()
    .default(null),
  signals: z.array(signalResult),
  summary: resultSummary,
  /** The evidence bundle's files for this scenario and host (under evidence/), with their hashes. */
  evidence: z.array(evidenceEntry),
  error: z.strictObject({ code: z.string(), message: z.string(), hint: z.string().nullable() }).nullable(),
});
export type ScenarioResult = Of<typeof scenarioResult>;

/** A control a run is evidence for, from the control-mapping file (controls/default.yaml). */
const controlDefinition = z.strictObject({
  framework: z.string(),
  id: z.string(),
  title: z.string(),
  /** telemetry: met when the expected events were recorded; detection: met when the signal passed in full. */
  basis: z.enum(['telemetry', 'detection']),
  statement: z.string(),
  /** null: every signal / scenario. */
  signals: z.array(SignalId).nullable(),
  scenarios: z.array(z.string()).nullable(),
  /** each-signal: met only when every signal in scope was met in this run ("for each AN0932 signal"). */
  coverage: z.enum(['any', 'each-signal']).default('any'),
});
export type ControlDefinition = Of<typeof controlDefinition>;

/** `demonstration`: the evidence came from the simulated lab, which shows the harness, not a control. */
const controlStatus = z.enum(['met', 'not-met', 'not-evaluated', 'demonstration']);
export type ControlStatus = Of<typeof controlStatus>;

/** One scenario x host x signal that bears on a control. */
const controlEvidence = z.strictObject({
  scenario: z.string(),
  host: z.string(),
  signal: SignalId,
  status: controlStatus,
});
export type ControlEvidence = Of<typeof controlEvidence>;

/** How this run bears on one control: each covered scenario x host x signal, and the roll-up. */
const controlResult = controlDefinition.extend({
  status: controlStatus,
  evidence: z.array(controlEvidence),
  /**
   * The evidence that set the status: what failed for not-met, what was unjudged for not-evaluated, else all.
   * Runs written before it existed name none.
   */
  decidedBy: z.array(controlEvidence).default([]),
  /** For an each-signal control: the signals in scope with no met evidence in this run. */
  missing: z.array(SignalId).default([]),
});
export type ControlResult = Of<typeof controlResult>;

/** A signal that passed in the previous comparable run (same lab kind and SIEM) and fails now. */
const regression = z.strictObject({
  scenario: z.string(),
  host: z.string(),
  signal: SignalId,
  previousRunId: z.string(),
  previousVerdict: z.literal('pass'),
  verdict: z.literal('fail'),
  /**
   * Set when the tuning our rules read changed between the run it passed in and this one (docs/tuning.md):
   * the label of each, e.g. `default` then `custom, sha256 0123456789ab`. null when it did not change.
   */
  tuningChanged: z
    .strictObject({ before: z.string().nullable(), now: z.string().nullable() })
    .nullable()
    .default(null),
});
export type Regression = Of<typeof regression>;

const runStatus = z.enum([
  'passed',
  'failed',
  'inconclusive',
  'error',
  'cleanup-failed',
  'interrupted',
  'incomplete',
]);
export type RunStatus = Of<typeof runStatus>;

/** What the run's hosts were: all simulated, all real, or some of each (each result says which). */
const labKind = z.enum(['simulated', 'real', 'mixed']);
export type LabKind = Of<typeof labKind>;

/** A planned scenario x host pair that never ran, and why: a run that has any is not PASSED. */
const notRunPair = z.strictObject({ scenario: z.string(), host: z.string(), reason: z.string() });
export type NotRunPair = Of<typeof notRunPair>;

/**
 * A detection offered for a signal that was captured but not detected, with its proof: the rule fired on
 * the captured events it names and on none of the negative control's events or the harness's own steps'.
 */
const detectionSuggestion = z.strictObject({
  scenario: z.string(),
  host: z.string(),
  signal: SignalId,
  rule: z.strictObject({
    id: z.string(),
    title: z.string(),
    /** The Sigma rule as YAML: what the proof evaluated. */
    sigma: z.string(),
    /** Where the rule's files are, relative to the run's report folder. */
    files: z.array(z.string()),
  }),
  /** The rule as a standing search: Splunk SPL, Sentinel KQL, Elasticsearch query DSL (JSON; null: not compilable). */
  queries: z.strictObject({ spl: z.string(), kql: z.string(), es: z.string().nullable() }),
  proof: z.strictObject({
    /** Who evaluated the rule: the local SIEM's Sigma engine, on the events as the SIEM returned them. */
    engine: z.string(),
    /** The captured events (SIEM refs) it fires on, of `captured`. */
    firesOn: z.array(z.string()),
    captured: z.number(),
    /** How many events it was shown quiet on. */
    quietOn: z.strictObject({ negativeControl: z.number(), collateral: z.number() }),
    /** The negative-control pairs whose events it was shown quiet on ("scenario on host"). */
    negativeControls: z.array(z.string()),
    /**
     * The other hosts where the same scenario's signal was captured but not detected: one rule serves them
     * all, and it is checked on each one's captured events (`fires`: on at least one; `silent`: on none).
     */
    otherHosts: z.strictObject({ fires: z.array(z.string()), silent: z.array(z.string()) }),
  }),
  notes: z.array(z.string()),
});
export type DetectionSuggestion = Of<typeof detectionSuggestion>;

/** A signal captured but not detected for which no detection could be proven, and why. */
const suggestionWithheld = z.strictObject({
  scenario: z.string(),
  host: z.string(),
  signal: SignalId,
  reason: z.string(),
});
export type SuggestionWithheld = Of<typeof suggestionWithheld>;

const suggestions = z.strictObject({
  offered: z.array(detectionSuggestion),
  withheld: z.array(suggestionWithheld),
});
export type Suggestions = Of<typeof suggestions>;

export const RunRecord = z
  .strictObject({
    /** run.json's format (schema/run.schema.json); bumped on any incompatible change. */
    schemaVersion: z.literal(2),
    runId: z.string(),
    harness: z.strictObject({ name: z.literal('purple-harness'), version: z.string() }),
    startedAt: iso,
    finishedAt: iso,
    lab: labKind,
    siem: z.strictObject({
      id: z.string(),
      description: z.string(),
      /** The tuning its rules read (`default`, or `custom, sha256 …`); null when its rules are not ours. */
      tuning: z.string().nullable().default(null),
    }),
    /** The slice of the plan this run covered (`--shard i/n`); null for the whole plan. */
    shard: z.strictObject({ index: z.number(), count: z.number() }).nullable(),
    /** Set by `report merge`: the runs (shards) this one was merged from. */
    mergedFrom: z.array(z.string()).nullable(),
    status: runStatus,
    summary: resultSummary.extend({ scenarios: z.number() }),
    results: z.array(scenarioResult),
    /** Planned pairs that never ran (stop file, interrupt, crash, a crashed shard); empty when all ran. */
    notRun: z.array(notRunPair).default([]),
    /** The controls this run is evidence for, each met, not met or not evaluated. */
    controls: z.array(controlResult),
    /** Signals that passed in the previous comparable run and fail now (exit code 4). */
    regressions: z.array(regression),
    /** For each signal captured but not detected: a proven detection, or why none is offered. */
    suggestions: suggestions.default({ offered: [], withheld: [] }),
    /**
     * The tuning's TimeWindow (ms) the run tied activity with no marker to cmstp by, with any SIEM; null: none
     * set (cmstp's own run and 1 s after it).
     */
    timeWindowMs: z.number().nullable().default(null),
  })
  .meta({
    title: 'purple-harness run.json',
    description:
      'One run of purple-harness: every scenario x host x AN0932 signal with its verdict, outcome and evidence.',
  });
export type RunResult = Of<typeof RunRecord>;

/** One run as the run index (reports/index.json) keeps it: enough for history, trends and regressions. */
const runIndexEntry = z.strictObject({
  runId: z.string(),
  startedAt: iso,
  finishedAt: iso,
  status: runStatus,
  lab: labKind,
  siem: z.string(),
  /** The tuning the SIEM's rules read in that run (RunRecord siem.tuning); null when not ours or not known. */
  tuning: z.string().nullable().default(null),
  summary: resultSummary.pick({
    signals: true,
    pass: true,
    fail: true,
    late: true,
    inconclusive: true,
    mttdMs: true,
  }),
  regressions: z.array(regression),
  /** The run's own report page, relative to the reports folder; null when no HTML report was written. */
  report: z.string().nullable(),
  manifestSha256: z.string().nullable(),
  signals: z.array(
    z.strictObject({
      scenario: z.string(),
      host: z.string(),
      signal: SignalId,
      verdict,
      timing: timing.nullable(),
      tier,
      latencyMs: ms,
      detectionLatencyMs: ms,
    }),
  ),
});
export type RunIndexEntry = Of<typeof runIndexEntry>;

/** reports/index.json: one entry per run, oldest first (written by the report writer after each run). */
export const RunIndexRecord = z.strictObject({
  indexVersion: z.literal(1),
  /** Oldest first. */
  runs: z.array(runIndexEntry),
});
export type RunIndex = Of<typeof RunIndexRecord>;
