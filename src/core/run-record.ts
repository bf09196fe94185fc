import { z } from 'zod';
import { SignalId } from './scenario-model.js';
import type { RunIndex, RunResult } from './types.js';

/*
 * run.json's schema (schema/run.schema.json is generated from it). It mirrors RunResult in types.ts; the
 * checks at the bottom fail to compile if the two drift apart. Strict: run.json is our own format, so an
 * unknown key means the file is not what this version wrote.
 */

const iso = z.string();
const nullableIso = iso.nullable();
const ms = z.number().nullable();

const EventEvidence = z.strictObject({
  ref: z.string(),
  eventId: z.number(),
  time: iso,
  indexedAt: nullableIso,
  summary: z.record(z.string(), z.string()),
});

const AlertEvidence = z.strictObject({
  ref: z.string(),
  ruleId: z.string(),
  title: z.string(),
  level: z.string(),
  time: iso,
  eventRefs: z.array(z.string()),
  attack: z.array(z.string()),
});

const StepRecord = z.strictObject({
  step: z.string(),
  ok: z.boolean(),
  startedAt: iso,
  durationMs: z.number(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  detail: z.string(),
});

/** What preflight reports about the sensors: the host's frame and run.json share these fields. */
export const sensorFactFields = {
  sysmonRunning: z.boolean(),
  sysmonEventTypes: z.array(z.string()).nullable(),
  security4688: z.boolean().nullable(),
  security4688CommandLine: z.boolean(),
  forwarders: z.array(z.string()),
  freeDiskBytes: z.number().nullable(),
};

const SensorFacts = z.strictObject({ ...sensorFactFields, clockSkewMs: z.number().nullable() });

/** Who and what the host is, from preflight: shared with the host's preflight frame too. */
export const hostFactFields = {
  hostname: z.string(),
  user: z.string(),
  integrityLevel: z.string(),
  os: z.string(),
  powershell: z.string(),
  sshServer: z.string(),
};

const ExecutionRecord = z.strictObject({
  status: z.enum(['executed', 'failed', 'error']),
  reason: z.string(),
  progress: z.strictObject({ staged: z.boolean(), started: z.boolean(), payloadRan: z.boolean() }),
  startedAt: iso,
  endedAt: iso,
  facts: z.strictObject({ ...hostFactFields, sensors: SensorFacts.nullable() }).nullable(),
  payload: z.strictObject({ remotePath: z.string(), sha256: z.string() }).nullable(),
  cmstp: z
    .strictObject({
      commandLine: z.string(),
      pid: z.number().nullable(),
      exitCode: z.number().nullable(),
      timedOut: z.boolean(),
      startedAt: nullableIso,
      endedAt: nullableIso,
      markerProcesses: z.array(z.strictObject({ pid: z.number(), parentPid: z.number(), name: z.string() })),
    })
    .nullable(),
  steps: z.array(StepRecord),
  cleanup: z.strictObject({
    ran: z.boolean(),
    verified: z.boolean(),
    created: z.array(z.string()),
    removed: z.array(z.string()),
    residue: z.array(z.string()),
    startedAt: nullableIso,
    uninstall: z
      .strictObject({ inf: z.string(), exitCode: z.number().nullable(), timedOut: z.boolean() })
      .nullable(),
  }),
  canary: z.strictObject({ text: z.string(), writtenAt: iso }).nullable(),
  payloadFetches: z.array(
    z.strictObject({
      time: iso,
      source: z.string(),
      host: z.string(),
      userAgent: z.string(),
      path: z.string(),
      status: z.number(),
    }),
  ),
});

const Outcome = z.strictObject({
  tier: z.enum(['alert', 'telemetry', 'none']),
  evaluation: z.enum(['evaluated', 'inconclusive', 'blind-spot']),
  attackEvaluation: z
    .strictObject({
      category: z.enum(['Not Applicable', 'None', 'Telemetry', 'General', 'Tactic', 'Technique']),
      modifiers: z.array(z.literal('Delayed')),
    })
    .nullable(),
  vectr: z.enum(['Alerted', 'Logged', 'None', 'TBD']),
});

const Verdict = z.enum(['pass', 'fail', 'inconclusive']);
const Regression = z.strictObject({
  scenario: z.string(),
  host: z.string(),
  signal: SignalId,
  previousRunId: z.string(),
  previousVerdict: z.literal('pass'),
  verdict: z.literal('fail'),
});
const ControlStatus = z.enum(['met', 'not-met', 'not-evaluated', 'demonstration']);
const ControlEvidence = z.strictObject({
  scenario: z.string(),
  host: z.string(),
  signal: SignalId,
  status: ControlStatus,
});
const RunStatus = z.enum([
  'passed',
  'failed',
  'inconclusive',
  'error',
  'cleanup-failed',
  'interrupted',
  'incomplete',
]);

const SignalResult = z.strictObject({
  id: SignalId,
  expected: z.strictObject({
    captured: z.boolean(),
    detected: z.boolean().nullable(),
    rule: z.string().nullable(),
  }),
  observed: z.strictObject({
    captured: z.boolean().nullable(),
    detected: z.boolean().nullable(),
    events: z.array(EventEvidence),
    alerts: z.array(AlertEvidence),
    firstSeenAt: nullableIso,
    latencyMs: ms,
    detectionLatencyMs: ms,
  }),
  verdict: Verdict,
  timing: z.enum(['on-time', 'late']).nullable(),
  reason: z.string(),
  readiness: z.enum(['ready', 'blind', 'unknown']),
  outcome: Outcome,
});

const ResultSummary = z.strictObject({
  signals: z.number(),
  pass: z.number(),
  fail: z.number(),
  late: z.number(),
  inconclusive: z.number(),
  tiers: z.strictObject({ alert: z.number(), telemetry: z.number(), none: z.number() }),
  mttdMs: ms,
  meanCaptureLatencyMs: ms,
});

const ScenarioResult = z.strictObject({
  scenario: z.strictObject({ id: z.string(), title: z.string(), file: z.string(), sha256: z.string() }),
  host: z.strictObject({ name: z.string(), address: z.string(), simulated: z.boolean() }),
  marker: z.string(),
  status: z.enum(['passed', 'failed', 'inconclusive', 'error', 'cleanup-failed']),
  execution: ExecutionRecord.nullable(),
  pipeline: z.strictObject({
    status: z.enum(['proven', 'unproven', 'unknown']),
    reason: z.string(),
    canary: z
      .strictObject({
        text: z.string(),
        writtenAt: iso,
        seenAt: nullableIso,
        event: EventEvidence.nullable(),
      })
      .nullable(),
  }),
  queries: z.array(
    z.strictObject({
      kind: z.enum(['telemetry', 'detections', 'trigger']),
      at: iso,
      durationMs: z.number(),
      probes: z.array(z.string()),
      hits: z.number(),
      text: z.string().nullable(),
      error: z.string().nullable(),
    }),
  ),
  alertCleanup: z.strictObject({ closed: z.array(z.string()), error: z.string().nullable() }).nullable(),
  collateral: z
    .strictObject({
      alerts: z.array(
        z.strictObject({
          ref: z.string(),
          ruleId: z.string(),
          title: z.string(),
          level: z.string(),
          eventTime: z.string(),
          eventRefs: z.array(z.string()),
          step: z.string(),
        }),
      ),
      error: z.string().nullable(),
    })
    // Runs recorded before collateral was reported have none.
    .nullable()
    .default(null),
  signals: z.array(SignalResult),
  summary: ResultSummary,
  evidence: z.array(
    z.strictObject({
      path: z.string(),
      kind: z.enum(['payload', 'scriptlet', 'transcript', 'preflight', 'siem-signal', 'queries', 'cleanup']),
      sha256: z.string(),
      bytes: z.number(),
      signal: SignalId.nullable(),
    }),
  ),
  error: z.strictObject({ code: z.string(), message: z.string(), hint: z.string().nullable() }).nullable(),
});

export const RunRecord = z
  .strictObject({
    schemaVersion: z.literal(2),
    runId: z.string(),
    harness: z.strictObject({ name: z.literal('purple-harness'), version: z.string() }),
    startedAt: iso,
    finishedAt: iso,
    lab: z.enum(['simulated', 'real', 'mixed']),
    siem: z.strictObject({ id: z.string(), description: z.string() }),
    shard: z.strictObject({ index: z.number(), count: z.number() }).nullable(),
    mergedFrom: z.array(z.string()).nullable(),
    status: RunStatus,
    summary: ResultSummary.extend({ scenarios: z.number() }),
    results: z.array(ScenarioResult),
    notRun: z
      .array(z.strictObject({ scenario: z.string(), host: z.string(), reason: z.string() }))
      .default([]),
    controls: z.array(
      z.strictObject({
        framework: z.string(),
        id: z.string(),
        title: z.string(),
        basis: z.enum(['telemetry', 'detection']),
        statement: z.string(),
        signals: z.array(SignalId).nullable(),
        scenarios: z.array(z.string()).nullable(),
        coverage: z.enum(['any', 'each-signal']).default('any'),
        status: ControlStatus,
        evidence: z.array(ControlEvidence),
        // Runs written before decidedBy existed: none named.
        decidedBy: z.array(ControlEvidence).default([]),
        missing: z.array(SignalId).default([]),
      }),
    ),
    regressions: z.array(Regression),
  })
  .meta({
    title: 'purple-harness run.json',
    description:
      'One run of purple-harness: every scenario x host x AN0932 signal with its verdict, outcome and evidence.',
  });

/** reports/index.json: one entry per run, oldest first (written by the report writer after each run). */
export const RunIndexRecord = z.strictObject({
  indexVersion: z.literal(1),
  runs: z.array(
    z.strictObject({
      runId: z.string(),
      startedAt: iso,
      finishedAt: iso,
      status: RunStatus,
      lab: z.enum(['simulated', 'real', 'mixed']),
      siem: z.string(),
      summary: ResultSummary.pick({
        signals: true,
        pass: true,
        fail: true,
        late: true,
        inconclusive: true,
        mttdMs: true,
      }),
      regressions: z.array(Regression),
      report: z.string().nullable(),
      manifestSha256: z.string().nullable(),
      signals: z.array(
        z.strictObject({
          scenario: z.string(),
          host: z.string(),
          signal: SignalId,
          verdict: Verdict,
          timing: z.enum(['on-time', 'late']).nullable(),
          tier: z.enum(['alert', 'telemetry', 'none']),
          latencyMs: ms,
          detectionLatencyMs: ms,
        }),
      ),
    }),
  ),
});

// Compile-time: the schema and RunResult describe the same document, both ways.
type Immutable<T> = T extends (infer U)[]
  ? readonly Immutable<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Immutable<T[K]> }
    : T;
type Parsed = z.infer<typeof RunRecord>;
type ParsedIndex = z.infer<typeof RunIndexRecord>;
export const runRecordMatchesType: [
  Parsed extends RunResult ? true : false,
  RunResult extends Immutable<Parsed> ? true : false,
  ParsedIndex extends RunIndex ? true : false,
  RunIndex extends Immutable<ParsedIndex> ? true : false,
] = [true, true, true, true];
