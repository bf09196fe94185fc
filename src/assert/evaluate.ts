import { formatMs, prerequisiteMet, telemetryLabel } from '../core/index.js';
import type {
  AlertEvidence,
  AttackEvalCategory,
  Outcome,
  CanaryObservation,
  ExecutionRecord,
  PipelineProof,
  Readiness,
  Expectation,
  SignalDefinition,
  SignalObservation,
  SignalResult,
  Verdict,
} from '../core/index.js';

export interface SignalEvaluationInput {
  readonly expectation: Expectation;
  readonly definition: SignalDefinition;
  readonly execution: ExecutionRecord | null;
  readonly observation: SignalObservation | undefined;
  readonly captureTimeoutMs: number;
  readonly detectTimeoutMs: number;
  /** From preflight (signals/readiness.ts); `unknown` when it could not tell. */
  readonly readiness?: Readiness;
  /** From judgePipeline: whether this host's events were shown to reach the SIEM. */
  readonly pipeline?: PipelineProof['status'];
}

/** Did events from this host reach the SIEM during the run? Pure. */
export function judgePipeline(
  execution: ExecutionRecord | null,
  canary: CanaryObservation | null,
  observations: Iterable<SignalObservation>,
): PipelineProof {
  const written = execution?.canary ?? null;
  const proof =
    written === null ? null : { ...written, seenAt: canary?.seenAt ?? null, event: canary?.event ?? null };
  const evidence = [...observations].reduce((n, o) => n + o.events.length, 0);
  if (evidence > 0)
    return { status: 'proven', reason: `${evidence} event(s) from this run reached the SIEM`, canary: proof };
  if (proof?.event)
    return { status: 'proven', reason: 'the canary written before the run reached the SIEM', canary: proof };
  if (proof !== null && canary !== null)
    return {
      status: 'unproven',
      reason: `the canary written at ${proof.writtenAt} never reached the SIEM, and neither did any event of the run`,
      canary: proof,
    };
  return {
    status: 'unknown',
    reason:
      proof === null
        ? 'no canary was written (see the canary step), and no event of the run was seen'
        : 'the SIEM was not polled',
    canary: proof,
  };
}

const prerequisiteText = {
  staged: 'the payload was never staged on the host',
  started: 'cmstp.exe never started',
  'payload-ran': "the payload's command did not run",
} as const;

function since(start: string | null | undefined, end: string | null): number | null {
  if (!start || !end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

/**
 * The technique under test (and, for the COM elevation signal, the UAC bypass it is): an alert naming one
 * of these explains the behaviour at technique level, as ATT&CK Evaluations require for `Technique`.
 */
const techniquesUnderTest = new Set(['T1218.003', 'T1218', 'T1548.002']);
/** Defense Evasion, Privilege Escalation, Execution: the tactics CMSTP abuse serves. */
const tacticsUnderTest = new Set(['TA0005', 'TA0004', 'TA0002']);

/** What the fired alerts say, in ATT&CK Evaluations terms (anchors-mission.md 1.13). */
function alertCategory(alerts: readonly AlertEvidence[]): AttackEvalCategory {
  const ids = alerts.flatMap((a) => a.attack.map((id) => id.toUpperCase()));
  if (ids.some((id) => techniquesUnderTest.has(id))) return 'Technique';
  if (ids.some((id) => tacticsUnderTest.has(id))) return 'Tactic';
  return 'General';
}

/** Tier, evaluability and the ATT&CK Evaluations / VECTR outcome of one judged signal. Pure. */
export function outcomeOf(input: {
  readonly verdict: Verdict;
  readonly readiness: Readiness;
  readonly eventCount: number;
  readonly alerts: readonly AlertEvidence[];
  readonly late: boolean;
}): Outcome {
  const tier = input.alerts.length > 0 ? 'alert' : input.eventCount > 0 ? 'telemetry' : 'none';
  const evaluation =
    input.verdict === 'inconclusive'
      ? 'inconclusive'
      : tier === 'none' && input.readiness === 'blind'
        ? 'blind-spot'
        : 'evaluated';
  const category: AttackEvalCategory =
    tier === 'alert'
      ? alertCategory(input.alerts)
      : tier === 'telemetry'
        ? 'Telemetry'
        : evaluation === 'blind-spot'
          ? 'Not Applicable'
          : 'None';
  return {
    tier,
    evaluation,
    attackEvaluation:
      evaluation === 'inconclusive' ? null : { category, modifiers: input.late ? ['Delayed'] : [] },
    vectr:
      evaluation === 'inconclusive'
        ? 'TBD'
        : tier === 'alert'
          ? 'Alerted'
          : tier === 'telemetry'
            ? 'Logged'
            : 'None',
  };
}

/**
 * Expectation + observation -> verdict. Pure. One rule: a verdict rests only on what was observed.
 * 1. If the emulation never got far enough to produce the signal, the verdict is `inconclusive`.
 * 2. If the SIEM could not be asked, `inconclusive`.
 * 3. Presence is what was seen. Absence (no event, no alert) counts only when it was observed: a query that
 *    succeeded after the deadline (or, for alerts, at ingest) over every event, never after an interrupt;
 *    expected-absent telemetry also needs a pipeline proven live and a sensor not found blind. Otherwise the
 *    verdict is `inconclusive`, neither `pass` nor `fail`.
 * 4. Telemetry present/absent must match `captured`; then alerts must match `detected`.
 */
export function evaluateSignal(input: SignalEvaluationInput): SignalResult {
  const { expectation, definition, execution, observation } = input;
  const readiness = input.readiness ?? 'unknown';
  const expected = {
    captured: expectation.captured,
    detected: expectation.detected ?? null,
    rule: expectation.rule ?? null,
  };
  const events = observation?.events ?? [];
  const alerts = (observation?.alerts ?? []).filter(
    (a) => expectation.rule === undefined || a.ruleId === expectation.rule,
  );
  const startedAt = execution?.cmstp?.startedAt ?? execution?.startedAt;
  const observed = {
    captured: observation ? events.length > 0 : null,
    detected: observation && expectation.detected !== undefined ? alerts.length > 0 : null,
    events,
    alerts: observation?.alerts ?? [],
    firstSeenAt: observation?.firstSeenAt ?? null,
    latencyMs: since(startedAt, observation?.firstSeenAt ?? null),
    detectionLatencyMs: since(startedAt, observation?.alertFirstSeenAt ?? null),
  };
  const late = observation !== undefined && (observation.capturedLate || observation.detectedLate);
  const timing: SignalResult['timing'] =
    events.length === 0 && alerts.length === 0 ? null : late ? 'late' : 'on-time';
  const judged = (verdict: Verdict, reason: string): SignalResult => ({
    id: definition.id,
    expected,
    observed,
    verdict,
    timing,
    reason,
    readiness,
    outcome: outcomeOf({ verdict, readiness, eventCount: events.length, alerts, late }),
  });
  const result = (verdict: Verdict, reason: string): SignalResult =>
    // A run whose emulation did not complete is not control evidence: what it saw is kept, but never as a pass.
    verdict === 'pass' && execution !== null && execution.status !== 'executed'
      ? judged(
          'inconclusive',
          `${reason}; but the emulation did not complete (${execution.reason}), so this run does not count as a pass`,
        )
      : judged(verdict, reason);

  if (!execution || !prerequisiteMet(definition.requires, execution.progress)) {
    const why = execution
      ? `${prerequisiteText[definition.requires]} (${execution.reason || execution.status})`
      : 'the emulation did not run';
    return result('inconclusive', `cannot judge ${definition.id}: ${why}`);
  }
  if (!observation) return result('inconclusive', 'the SIEM was not polled for this signal');

  const telemetry = telemetryLabel(definition);
  const absence = observation.absence ?? { telemetry: false, alerts: false };
  const unseen = `no ${telemetry} event arrived`;
  // A SIEM that never answered after the deadline is the first thing to say (not the canary it could not show).
  if (events.length === 0 && !absence.telemetry && observation.error !== null)
    return result('inconclusive', `not judged: ${observation.error}`);
  // Absence means nothing while nothing from this host reaches the SIEM: a broken pipeline is not a gap.
  if (events.length === 0 && input.pipeline === 'unproven') {
    return result(
      'inconclusive',
      `not judged: ${unseen}, but neither did the pipeline canary the host wrote before the run, so events from this host are not reaching the SIEM (forwarder, index or ingest delay over ${formatMs(input.captureTimeoutMs)})`,
    );
  }
  // "Nothing arrived" is a finding only when a query after the deadline succeeded and saw nothing.
  if (events.length === 0 && !absence.telemetry) {
    return result(
      'inconclusive',
      `not judged: ${unseen}, but no query after the ${formatMs(input.captureTimeoutMs)} deadline succeeded, so absence was not observed${observation.error === null ? '' : ` (${observation.error})`}`,
    );
  }
  if (expectation.captured && events.length === 0) {
    // A sensor preflight found blind is a blind spot: a finding about coverage, labelled as such.
    const blind =
      readiness === 'blind'
        ? `blind spot: the host's sensors are not set up to record ${telemetry} (preflight); `
        : '';
    if (observation.notAwaited === true)
      return result(
        'fail',
        `${blind}not captured: no ${telemetry} event matching ${definition.id} arrived in ${observation.polls} polls, the last after the other signals were settled; not waited for to the ${formatMs(input.captureTimeoutMs)} deadline`,
      );
    return result(
      'fail',
      `${blind}not captured: no ${telemetry} event matching ${definition.id} arrived within ${formatMs(input.captureTimeoutMs)} (${observation.polls} polls)`,
    );
  }
  if (!expectation.captured && events.length > 0) {
    return result(
      'fail',
      `captured ${events.length} event(s), but the scenario expects this telemetry to be absent`,
    );
  }
  if (!expectation.captured) {
    // Expected absent: only absence seen over a live pipeline, by a sensor able to see it, proves anything.
    if (readiness === 'blind')
      return result(
        'inconclusive',
        `not judged: ${unseen}, as expected, but preflight found the host's sensors cannot record ${telemetry}, so their silence proves nothing`,
      );
    if (input.pipeline !== 'proven')
      return result(
        'inconclusive',
        `not judged: ${unseen}, as expected, but nothing showed that this host's events reach the SIEM (${input.pipeline ?? 'unknown'} pipeline), so absence was not observed`,
      );
  }
  if (expectation.captured && observation.capturedLate) {
    return result(
      'fail',
      `late: captured ${events.length} ${telemetry} event(s), but only after the ${formatMs(input.captureTimeoutMs)} deadline (first seen by the final sweep)`,
    );
  }
  const capturedText = expectation.captured
    ? `captured ${events.length} ${telemetry} event(s)${observed.latencyMs === null ? '' : `, first seen ${formatMs(observed.latencyMs)} after the launch`}`
    : `no telemetry within ${formatMs(input.captureTimeoutMs)}, as expected`;

  if (expectation.detected === undefined) return result('pass', `${capturedText}; detection not asserted`);
  const ruleText = expectation.rule === undefined ? 'an alert' : `rule ${expectation.rule}`;
  // With no alert seen, "not detected" or "no false positive" is a finding only once absence was observed.
  if (alerts.length === 0 && events.length > 0 && !absence.alerts) {
    const why =
      observation.error ??
      `no detections query after the ${formatMs(input.detectTimeoutMs)} deadline succeeded over all ${events.length} event(s)`;
    return result('inconclusive', `${capturedText}; detection not judged: ${why}`);
  }
  if (expectation.detected) {
    if (alerts.length === 0) {
      return result(
        'fail',
        `${capturedText}; not detected: ${ruleText} did not fire on those events within ${formatMs(input.detectTimeoutMs)}`,
      );
    }
    const titles = [...new Set(alerts.map((a) => `${a.title} [${a.ruleId}]`))].join(', ');
    if (observation.detectedLate)
      return result(
        'fail',
        `late: ${capturedText}; detected by ${titles}, but only after the ${formatMs(input.detectTimeoutMs)} detection deadline (first seen by the final sweep)`,
      );
    return result('pass', `${capturedText}; detected by ${titles}`);
  }
  const unwanted = expectation.rule === undefined ? 'no alert' : `rule ${expectation.rule} not to fire`;
  if (alerts.length > 0) {
    return result(
      'fail',
      `${capturedText}; false positive: ${[...new Set(alerts.map((a) => a.title))].join(', ')} fired, and the scenario expects ${unwanted}`,
    );
  }
  // With a rule named, others may fire on the same events: the reason names them, so none is hidden.
  const others = [...new Set(observed.alerts.map((a) => `${a.title} [${a.ruleId}]`))];
  return result(
    'pass',
    expectation.rule === undefined
      ? `${capturedText}; no alert fired, as expected`
      : `${capturedText}; ${ruleText} did not fire, as expected${others.length > 0 ? ` (others did: ${others.join(', ')})` : ''}`,
  );
}
