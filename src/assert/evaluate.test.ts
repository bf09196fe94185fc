import test from 'ava';
import type { ExecutionRecord, Expectation, SignalObservation, Verdict } from '../core/index.js';
import { signalCatalog } from '../signals/catalog.js';
import { evaluateSignal, judgePipeline, outcomeOf } from './evaluate.js';

const definition = signalCatalog['child-process'];

function execution(progress: Partial<ExecutionRecord['progress']> = {}): ExecutionRecord {
  return {
    status: 'executed',
    reason: 'ok',
    progress: { staged: true, started: true, payloadRan: true, ...progress },
    startedAt: '2026-11-23T12:00:00.000Z',
    endedAt: '2026-11-23T12:00:01.000Z',
    facts: null,
    payload: null,
    cmstp: {
      commandLine: 'cmstp',
      pid: 1,
      exitCode: 0,
      timedOut: false,
      startedAt: '2026-11-23T12:00:00.000Z',
      endedAt: '2026-11-23T12:00:01.000Z',
      markerProcesses: [],
    },
    steps: [],
    cleanup: {
      ran: true,
      verified: true,
      created: [],
      removed: [],
      residue: [],
      startedAt: null,
      uninstall: null,
    },
    canary: null,
    payloadFetches: [],
  };
}

const event = { ref: 'e1', eventId: 1, time: '2026-11-23T12:00:00.100Z', indexedAt: null, summary: {} };
const alert = {
  ref: 'a1',
  ruleId: 'r1',
  title: 'Rule',
  level: 'high',
  time: '2026-11-23T12:00:02.000Z',
  eventRefs: ['e1'],
  attack: ['T1218.003'],
};

function observation(partial: Partial<SignalObservation> = {}): SignalObservation {
  return {
    signal: 'child-process',
    events: [],
    alerts: [],
    firstSeenAt: null,
    alertFirstSeenAt: null,
    polls: 3,
    error: null,
    capturedLate: false,
    detectedLate: false,
    // The poll ran to its deadline and its last queries succeeded: absence, where there is any, was observed.
    absence: { telemetry: true, alerts: true },
    ...partial,
  };
}

const evaluate = (
  expectation: Expectation,
  obs: SignalObservation | undefined,
  exec: ExecutionRecord | null = execution(),
) =>
  evaluateSignal({
    expectation,
    definition,
    execution: exec,
    observation: obs,
    captureTimeoutMs: 30_000,
    detectTimeoutMs: 30_000,
  });

const macro = test.macro(
  (
    t,
    expectation: Expectation,
    obs: SignalObservation | undefined,
    exec: ExecutionRecord | null,
    verdict: Verdict,
    reason: RegExp,
  ) => {
    const result = evaluate(expectation, obs, exec);
    t.is(result.verdict, verdict);
    t.regex(result.reason, reason);
  },
);

const seen = observation({ events: [event], firstSeenAt: '2026-11-23T12:00:01.500Z' });
const seenAlerted = observation({
  events: [event],
  alerts: [alert],
  firstSeenAt: '2026-11-23T12:00:01.500Z',
  alertFirstSeenAt: '2026-11-23T12:00:02.500Z',
});
const expectBoth = { signal: 'child-process', captured: true, detected: true } as const;

test(
  'captured and detected: pass',
  macro,
  expectBoth,
  seenAlerted,
  execution(),
  'pass',
  /captured 1 .*first seen 1\.5 s after the launch; detected by Rule \[r1\]/,
);
test(
  'no telemetry: fail, not captured',
  macro,
  expectBoth,
  observation(),
  execution(),
  'fail',
  /not captured: no Sysmon 1 or Security 4688 event/,
);
test(
  'telemetry without alert: fail, not detected',
  macro,
  expectBoth,
  seen,
  execution(),
  'fail',
  /not detected: an alert did not fire/,
);
test(
  'alert from another rule than the one named: fail',
  macro,
  { ...expectBoth, rule: 'other' },
  seenAlerted,
  execution(),
  'fail',
  /rule other did not fire/,
);
// #21 a tuning boundary's let-through case: the named rule must stay quiet; other rules may fire, and are named.
test(
  'a rule named with detected: false: another rule firing passes, and the reason names it',
  macro,
  { ...expectBoth, detected: false, rule: 'other' },
  seenAlerted,
  execution(),
  'pass',
  /rule other did not fire, as expected \(others did: Rule \[r1\]\)/,
);
test(
  'a rule named with detected: false: that rule firing is a false positive',
  macro,
  { ...expectBoth, detected: false, rule: 'r1' },
  seenAlerted,
  execution(),
  'fail',
  /false positive: Rule fired, and the scenario expects rule r1 not to fire/,
);
test(
  'detection not asserted: pass on capture alone',
  macro,
  { signal: 'child-process', captured: true },
  seen,
  execution(),
  'pass',
  /detection not asserted/,
);
test(
  'an alert where none is expected: fail as a false positive',
  macro,
  { ...expectBoth, detected: false },
  seenAlerted,
  execution(),
  'fail',
  /false positive: Rule fired/,
);
test(
  'telemetry where none is expected: fail',
  macro,
  { signal: 'child-process', captured: false },
  seen,
  execution(),
  'fail',
  /expects this telemetry to be absent/,
);
test(
  'payload never ran: inconclusive, never fail',
  macro,
  expectBoth,
  observation(),
  execution({ payloadRan: false }),
  'inconclusive',
  /payload's command did not run/,
);
test('no execution at all: inconclusive', macro, expectBoth, undefined, null, 'inconclusive', /did not run/);
test(
  'SIEM unreachable: inconclusive',
  macro,
  expectBoth,
  observation({ error: 'HTTP 503', absence: { telemetry: false, alerts: false } }),
  execution(),
  'inconclusive',
  /not judged: HTTP 503/,
);
test(
  'alerts unreachable after capture: inconclusive',
  macro,
  expectBoth,
  observation({ events: [event], error: 'HTTP 503', absence: { telemetry: false, alerts: false } }),
  execution(),
  'inconclusive',
  /detection not judged: HTTP 503/,
);
test('not polled: inconclusive', macro, expectBoth, undefined, execution(), 'inconclusive', /not polled/);

test('an emulation that did not complete never yields a pass, though what was seen is kept', (t) => {
  const failed = {
    ...execution(),
    status: 'failed' as const,
    reason: 'run-cmstp: no exit status from the host',
  };

  const result = evaluate(expectBoth, seenAlerted, failed);

  t.is(result.verdict, 'inconclusive');
  t.regex(result.reason, /detected by Rule.*but the emulation did not complete \(run-cmstp: no exit status/);
  t.is(result.observed.captured, true);
});

test('latency is measured from cmstp start', (t) => {
  const result = evaluate(expectBoth, seenAlerted);

  t.is(result.observed.latencyMs, 1500);
  t.is(result.observed.detectionLatencyMs, 2500);
  t.deepEqual(result.expected, { captured: true, detected: true, rule: null });
});

const written = { text: 'purple-harness-canary ph1', writtenAt: '2026-11-23T11:59:58.000Z' };
const canaryEvent = { ...event, ref: 'canary1' };

test("pipeline: proven by the run's own events, else by the canary; unproven when the canary was written but not seen", (t) => {
  const exec = { ...execution(), canary: written };
  t.is(
    judgePipeline(exec, { event: null, seenAt: null }, [observation({ events: [event] })]).status,
    'proven',
  );
  t.is(
    judgePipeline(exec, { event: canaryEvent, seenAt: '2026-11-23T12:00:03.000Z' }, [observation()]).status,
    'proven',
  );
  t.is(judgePipeline(exec, { event: null, seenAt: null }, [observation()]).status, 'unproven');
  // No canary written, or never polled: nothing is known, and verdicts keep their usual meaning.
  t.is(judgePipeline(execution(), null, [observation()]).status, 'unknown');
  t.is(judgePipeline(exec, null, []).status, 'unknown');
});

test('an unproven pipeline makes absence inconclusive, whether telemetry was expected or not', (t) => {
  for (const captured of [true, false]) {
    const result = evaluateSignal({
      expectation: { signal: 'child-process', captured },
      definition,
      execution: execution(),
      observation: observation(),
      captureTimeoutMs: 30_000,
      detectTimeoutMs: 30_000,
      pipeline: 'unproven',
    });
    t.is(result.verdict, 'inconclusive');
    t.regex(result.reason, /pipeline canary/);
  }
  // What did arrive is still judged: seen telemetry proves the pipeline for this signal.
  const seen = evaluateSignal({
    expectation: { signal: 'child-process', captured: true },
    definition,
    execution: execution(),
    observation: observation({ events: [event] }),
    captureTimeoutMs: 30_000,
    detectTimeoutMs: 30_000,
    pipeline: 'unproven',
  });
  t.is(seen.verdict, 'pass');
});

test('outcome: an alert naming the technique under test is Technique / Alerted, late adds Delayed', (t) => {
  const base = { verdict: 'pass', readiness: 'ready', eventCount: 1, late: false } as const;
  const named = (attack: string[]) => [{ ...alert, attack }];
  t.deepEqual(outcomeOf({ ...base, alerts: named(['T1218.003']) }), {
    tier: 'alert',
    evaluation: 'evaluated',
    attackEvaluation: { category: 'Technique', modifiers: [] },
    vectr: 'Alerted',
  });
  t.is(outcomeOf({ ...base, alerts: named(['TA0005']) }).attackEvaluation?.category, 'Tactic');
  t.is(outcomeOf({ ...base, alerts: named(['T1059']) }).attackEvaluation?.category, 'General');
  t.is(outcomeOf({ ...base, alerts: named([]) }).attackEvaluation?.category, 'General');
  t.deepEqual(
    outcomeOf({ ...base, verdict: 'fail', alerts: named(['T1218']), late: true }).attackEvaluation,
    {
      category: 'Technique',
      modifiers: ['Delayed'],
    },
  );
});

test('outcome: telemetry only is Logged; nothing is None; a blind sensor is Not Applicable; inconclusive is TBD', (t) => {
  const base = { verdict: 'fail', readiness: 'ready', alerts: [], late: false } as const;
  const logged = outcomeOf({ ...base, eventCount: 2 });
  t.is(logged.tier, 'telemetry');
  t.is(logged.vectr, 'Logged');
  t.is(logged.attackEvaluation?.category, 'Telemetry');
  const none = outcomeOf({ ...base, eventCount: 0 });
  t.is(none.vectr, 'None');
  t.is(none.attackEvaluation?.category, 'None');
  const blind = outcomeOf({ ...base, eventCount: 0, readiness: 'blind' });
  t.is(blind.evaluation, 'blind-spot');
  t.is(blind.attackEvaluation?.category, 'Not Applicable');
  t.is(blind.vectr, 'None');
  const unknown = outcomeOf({ ...base, verdict: 'inconclusive', eventCount: 0 });
  t.is(unknown.evaluation, 'inconclusive');
  t.is(unknown.attackEvaluation, null);
  t.is(unknown.vectr, 'TBD');
});

test('evaluateSignal carries the outcome: captured and detected by a Technique-tagged alert', (t) => {
  const result = evaluate(expectBoth, seenAlerted);
  t.is(result.outcome.tier, 'alert');
  t.is(result.outcome.attackEvaluation?.category, 'Technique');
  t.is(result.outcome.vectr, 'Alerted');
});

// #14 item 1: absence that was not observed is inconclusive, never pass (nor fail).
const unobserved = { telemetry: false, alerts: false } as const;
test(
  '#14.1 a negative control is inconclusive, not pass, when the alert search failed (403)',
  macro,
  { ...expectBoth, detected: false },
  observation({ events: [event], error: 'SIEM query failed: HTTP 403', absence: unobserved }),
  execution(),
  'inconclusive',
  /detection not judged: SIEM query failed: HTTP 403/,
);
test(
  '#14.1 a negative control is inconclusive when polling was interrupted before the deadline',
  macro,
  { ...expectBoth, detected: false },
  observation({ events: [event], error: 'polling was interrupted before the deadline', absence: unobserved }),
  execution(),
  'inconclusive',
  /interrupted/,
);
test(
  '#14.1 no alert seen but no detections query after the deadline succeeded: inconclusive, not "not detected"',
  macro,
  expectBoth,
  observation({ events: [event], absence: unobserved }),
  execution(),
  'inconclusive',
  /no detections query after the 30 s deadline succeeded/,
);
test(
  '#14.1 no telemetry and no successful query after the deadline: inconclusive, not "not captured"',
  macro,
  expectBoth,
  observation({ absence: unobserved }),
  execution(),
  'inconclusive',
  /absence was not observed/,
);

// #14 item 6: expected-absent telemetry passes only over a proven pipeline, on a sensor not marked blind.
const absentMacro = test.macro(
  (t, readiness: 'ready' | 'blind', pipeline: 'proven' | 'unknown', verdict: Verdict, reason: RegExp) => {
    const result = evaluateSignal({
      expectation: { signal: 'child-process', captured: false },
      definition,
      execution: execution(),
      observation: observation(),
      captureTimeoutMs: 30_000,
      detectTimeoutMs: 30_000,
      readiness,
      pipeline,
    });
    t.is(result.verdict, verdict);
    t.regex(result.reason, reason);
  },
);
test(
  '#14.6 captured: false is inconclusive when the forwarder was down and the canary unwritten',
  absentMacro,
  'ready',
  'unknown',
  'inconclusive',
  /nothing showed that this host's events reach the SIEM/,
);
test(
  '#14.6 captured: false is inconclusive when preflight marked the sensor blind',
  absentMacro,
  'blind',
  'proven',
  'inconclusive',
  /cannot record/,
);
test(
  '#14.6 captured: false passes over a proven pipeline and a ready sensor',
  absentMacro,
  'ready',
  'proven',
  'pass',
  /as expected/,
);

// Found by the fault fuzzer: another signal's failed alert search must not hide a gap this signal proved.
test(
  'no telemetry, proven absent by the sweep, while the poll also recorded an alert-search error: fail, not inconclusive',
  macro,
  expectBoth,
  observation({ error: 'SIEM query failed: HTTP 503', absence: { telemetry: true, alerts: false } }),
  execution(),
  'fail',
  /not captured/,
);
