import type { LabKind, Regression, RunIndexEntry, ScenarioResult } from '../core/index.js';

const key = (scenario: string, host: string, signal: string): string =>
  `${scenario}\u0000${host}\u0000${signal}`;

/**
 * Signals that fail now and passed the last time they were judged (pass or fail, skipping inconclusive runs)
 * in an earlier run against the same kind of lab and the same SIEM: a simulated run never regresses a
 * real one. A regression says when the tuning the rules read changed since that run: the likeliest cause
 * of a detection that died with nothing else touched. `previous` is the run index, oldest first. Pure.
 */
export function findRegressions(
  previous: readonly RunIndexEntry[],
  results: readonly ScenarioResult[],
  comparable: { readonly lab: LabKind; readonly siem: string; readonly tuning?: string | null },
): Regression[] {
  const last = new Map<string, { runId: string; verdict: 'pass' | 'fail'; tuning: string | null }>();
  for (const run of previous) {
    if (run.lab !== comparable.lab || run.siem !== comparable.siem) continue;
    for (const s of run.signals)
      if (s.verdict !== 'inconclusive')
        last.set(key(s.scenario, s.host, s.signal), {
          runId: run.runId,
          verdict: s.verdict,
          tuning: run.tuning,
        });
  }
  const now = comparable.tuning ?? null;
  return results.flatMap((r) =>
    r.signals.flatMap((s): Regression[] => {
      const before = last.get(key(r.scenario.id, r.host.name, s.id));
      return s.verdict === 'fail' && before?.verdict === 'pass'
        ? [
            {
              scenario: r.scenario.id,
              host: r.host.name,
              signal: s.id,
              previousRunId: before.runId,
              previousVerdict: 'pass',
              verdict: 'fail',
              tuningChanged: before.tuning === now ? null : { before: before.tuning, now },
            },
          ]
        : [];
    }),
  );
}
