import type {
  ControlDefinition,
  ControlResult,
  ControlStatus,
  ScenarioResult,
  SignalResult,
} from '../core/index.js';

/** One signal's bearing on a control of the given basis. */
function signalStatus(basis: ControlDefinition['basis'], signal: SignalResult): ControlStatus {
  if (signal.verdict === 'inconclusive' || signal.observed.captured === null) return 'not-evaluated';
  if (basis === 'detection') return signal.verdict === 'pass' ? 'met' : 'not-met';
  // Logging controls ask whether the records exist; a late record is still a record (ATT&CK: Delayed).
  return signal.observed.captured === signal.expected.captured ? 'met' : 'not-met';
}

/**
 * Which controls this run is evidence for, and whether each was met. Any covered signal not met makes the
 * control not met; otherwise anything not evaluated leaves it not evaluated. A control that covers nothing
 * in this run is not evaluated, never met. Pure.
 */
export function assessControls(
  controls: readonly ControlDefinition[],
  results: readonly ScenarioResult[],
): ControlResult[] {
  return controls.map((control) => {
    const evidence = results
      .filter((r) => control.scenarios === null || control.scenarios.includes(r.scenario.id))
      .flatMap((r) =>
        r.signals
          .filter((s) => control.signals === null || control.signals.includes(s.id))
          .map((s) => ({
            scenario: r.scenario.id,
            host: r.host.name,
            signal: s.id,
            status: signalStatus(control.basis, s),
          })),
      );
    const status: ControlStatus = evidence.some((e) => e.status === 'not-met')
      ? 'not-met'
      : evidence.length === 0 || evidence.some((e) => e.status === 'not-evaluated')
        ? 'not-evaluated'
        : 'met';
    return { ...control, status, evidence };
  });
}
