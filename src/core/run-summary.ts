import type {
  CleanupRecord,
  LabKind,
  NotRunPair,
  Outcome,
  ResultSummary,
  RunResult,
  RunStatus,
  ScenarioResult,
  ScenarioStatus,
  SignalResult,
} from './run-record.js';

/* Roll-ups and labels derived from run records: the same rules for every run, merged run and report. */

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
