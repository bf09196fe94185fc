import type {
  ControlDefinition,
  ControlEvidence,
  ControlResult,
  ControlStatus,
  ScenarioResult,
  SignalResult,
} from '../core/index.js';
import { signalIds } from '../core/index.js';

/**
 * Whether a signal's expectation can show what a control of this basis states: a detection control needs an
 * alert that was expected (a negative control's silence shows no monitoring), a logging control needs records
 * that were expected (expected-absent telemetry shows no logging).
 */
function bearsOn(basis: ControlDefinition['basis'], signal: SignalResult): boolean {
  return basis === 'detection' ? signal.expected.detected === true : signal.expected.captured;
}

/** One signal's bearing on a control of the given basis. */
function signalStatus(basis: ControlDefinition['basis'], signal: SignalResult): ControlStatus {
  if (signal.verdict === 'inconclusive' || signal.observed.captured === null) return 'not-evaluated';
  if (basis === 'detection') return signal.verdict === 'pass' ? 'met' : 'not-met';
  // Logging controls ask whether the records exist; a late record is still a record (ATT&CK: Delayed).
  return signal.observed.captured === signal.expected.captured ? 'met' : 'not-met';
}

/**
 * Which controls this run is evidence for, and whether each was met. Only signals whose expectation can show
 * the control's statement count (see bearsOn), and only from real hosts: the simulated lab's results show the
 * harness at work, not the user's monitoring, so they are `demonstration`, never met. Any covered signal not
 * met makes the control not met; otherwise anything not evaluated leaves it not evaluated, and so does a
 * signal missing from an `each-signal` control. A control that covers nothing in this run is not evaluated,
 * never met. `decidedBy` names the evidence that set the status. Pure.
 */
export function assessControls(
  controls: readonly ControlDefinition[],
  results: readonly ScenarioResult[],
): ControlResult[] {
  return controls.map((control) => {
    const evidence: ControlEvidence[] = results
      .filter((r) => control.scenarios === null || control.scenarios.includes(r.scenario.id))
      .flatMap((r) =>
        r.signals
          .filter((s) => control.signals === null || control.signals.includes(s.id))
          .filter((s) => bearsOn(control.basis, s))
          .map((s) => ({
            scenario: r.scenario.id,
            host: r.host.name,
            signal: s.id,
            status: r.host.simulated ? 'demonstration' : signalStatus(control.basis, s),
          })),
      );
    const real = evidence.filter((e) => e.status !== 'demonstration');
    // A control stated "for each signal" is shown only by met evidence for every signal in its scope.
    const metSignals = new Set(real.filter((e) => e.status === 'met').map((e) => e.signal));
    const missing =
      control.coverage === 'each-signal'
        ? (control.signals ?? signalIds).filter((id) => !metSignals.has(id))
        : [];
    const notMet = real.filter((e) => e.status === 'not-met');
    const unjudged = real.filter((e) => e.status === 'not-evaluated');
    const [status, decidedBy]: [ControlStatus, ControlEvidence[]] =
      notMet.length > 0
        ? ['not-met', notMet]
        : real.length === 0
          ? evidence.length > 0
            ? ['demonstration', evidence]
            : ['not-evaluated', []]
          : unjudged.length > 0 || missing.length > 0
            ? ['not-evaluated', unjudged]
            : ['met', real];
    return { ...control, status, evidence, decidedBy, missing };
  });
}
