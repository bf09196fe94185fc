import type { LabKind, RunIndex, RunIndexEntry, RunResult, SignalId, Verdict } from '../core/index.js';

/** What the run index keeps of a finished run. Pure. */
export function indexEntry(
  run: RunResult,
  written: { readonly manifestSha256: string | null; readonly report: string | null },
): RunIndexEntry {
  const { signals, pass, fail, late, inconclusive, mttdMs } = run.summary;
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    status: run.status,
    lab: run.lab,
    siem: run.siem.id,
    tuning: run.siem.tuning,
    summary: { signals, pass, fail, late, inconclusive, mttdMs },
    regressions: run.regressions,
    report: written.report,
    manifestSha256: written.manifestSha256,
    signals: run.results.flatMap((r) =>
      r.signals.map((s) => ({
        scenario: r.scenario.id,
        host: r.host.name,
        signal: s.id,
        verdict: s.verdict,
        timing: s.timing,
        tier: s.outcome.tier,
        latencyMs: s.observed.latencyMs,
        detectionLatencyMs: s.observed.detectionLatencyMs,
      })),
    ),
  };
}

/** The index with this run added (a re-written run replaces its old entry). Pure. */
export function withRun(index: RunIndex, entry: RunIndexEntry): RunIndex {
  return { indexVersion: 1, runs: [...index.runs.filter((r) => r.runId !== entry.runId), entry] };
}

export const emptyIndex: RunIndex = { indexVersion: 1, runs: [] };

/** One scenario x host x signal across runs, oldest first: the rows `history` prints. */
export interface HistoryRow {
  readonly scenario: string;
  readonly host: string;
  readonly signal: SignalId;
  readonly runs: readonly {
    readonly runId: string;
    readonly lab: LabKind;
    readonly verdict: Verdict;
    readonly late: boolean;
    readonly latencyMs: number | null;
    readonly detectionLatencyMs: number | null;
  }[];
  /** Passes over judged runs (inconclusive ones left out); null when none was judged. */
  readonly passRate: number | null;
}

export function historyRows(index: RunIndex): HistoryRow[] {
  const rows = new Map<
    string,
    { scenario: string; host: string; signal: SignalId; runs: HistoryRow['runs'][number][] }
  >();
  for (const run of index.runs) {
    for (const s of run.signals) {
      const id = `${s.scenario}\u0000${s.host}\u0000${s.signal}`;
      const row = rows.get(id) ?? { scenario: s.scenario, host: s.host, signal: s.signal, runs: [] };
      row.runs.push({
        runId: run.runId,
        lab: run.lab,
        verdict: s.verdict,
        late: s.timing === 'late',
        latencyMs: s.latencyMs,
        detectionLatencyMs: s.detectionLatencyMs,
      });
      rows.set(id, row);
    }
  }
  return [...rows.values()].map((row) => {
    const judged = row.runs.filter((r) => r.verdict !== 'inconclusive');
    return {
      ...row,
      passRate:
        judged.length === 0 ? null : judged.filter((r) => r.verdict === 'pass').length / judged.length,
    };
  });
}
