import { assessControls } from '../assert/controls.js';
import { findRegressions } from '../assert/regressions.js';
import type {
  ControlDefinition,
  LabKind,
  NotRunPair,
  RunIndexEntry,
  RunResult,
  ScenarioResult,
} from '../core/index.js';
import { runStatus, summarizeSignals } from '../core/index.js';

/** Everything a run record is made from; the rest (status, summary, controls, regressions) is derived. */
export interface RunParts {
  readonly runId: string;
  readonly version: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly lab: LabKind;
  readonly siem: RunResult['siem'];
  readonly shard: RunResult['shard'];
  /** The runs a merged run was made from; null for a run of its own. */
  readonly mergedFrom: readonly string[] | null;
  readonly results: readonly ScenarioResult[];
  readonly notRun: readonly NotRunPair[];
  readonly controls: readonly ControlDefinition[];
  /** Earlier runs of the folder the record goes to: a signal that passed there and fails now is a regression. */
  readonly history: readonly RunIndexEntry[];
  readonly interrupted: boolean;
  readonly crashed: boolean;
  /** Detections proven for the signals captured but not detected (suggest/); none when absent. */
  readonly suggestions?: RunResult['suggestions'];
  /** The tuning's TimeWindow (ms); null or absent when none was set. */
  readonly timeWindowMs?: number | null;
}

/**
 * The one place a run record (run.json) is assembled, for a run, a partial run and a merged one alike: the
 * status, the summary, the control assessment and the regressions are always derived the same way.
 */
export function assembleRun(parts: RunParts): RunResult {
  const { results, notRun } = parts;
  return {
    schemaVersion: 2,
    runId: parts.runId,
    harness: { name: 'purple-harness', version: parts.version },
    startedAt: parts.startedAt,
    finishedAt: parts.finishedAt,
    lab: parts.lab,
    siem: parts.siem,
    shard: parts.shard,
    mergedFrom: parts.mergedFrom === null ? null : [...parts.mergedFrom],
    // A run that crashed, was interrupted or left pairs unrun says so: never PASSED.
    status: runStatus(results, { interrupted: parts.interrupted, crashed: parts.crashed, notRun }),
    summary: { ...summarizeSignals(results.flatMap((r) => r.signals)), scenarios: results.length },
    results: [...results],
    notRun: [...notRun],
    controls: assessControls(parts.controls, results),
    regressions: findRegressions(parts.history, results, {
      lab: parts.lab,
      siem: parts.siem.id,
      tuning: parts.siem.tuning,
    }),
    suggestions: parts.suggestions ?? { offered: [], withheld: [] },
    timeWindowMs: parts.timeWindowMs ?? null,
  };
}
