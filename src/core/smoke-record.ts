import type { TranscriptEntry } from './emulation.js';
import type { LabKind, ScenarioResult } from './run-record.js';

/**
 * What `lab smoke` records (src/pipeline/smoke.ts): the checks a Windows engineer runs first on a new lab
 * host, in order, each with every fact it saw. The bundle (report/smoke-bundle.ts) is what a first user
 * sends back so the simulator can be calibrated against a real host.
 */

/** ok: the check held; problem: it did not (findings say why); not-run: it could not be tried here. */
export type SmokeOutcome = 'ok' | 'problem' | 'not-run';

/** One log the host exported after a step: what `wevtutil qe` returned, with the events' XML. */
export interface SmokeEventLog {
  readonly log: string;
  readonly exitCode: number | null;
  readonly error: string;
  readonly events: number;
  readonly xml: string;
}

export interface SmokeStep {
  readonly id: string;
  readonly title: string;
  readonly outcome: SmokeOutcome;
  /** Why the outcome is not ok, or what a reader should know; one sentence each. */
  readonly findings: readonly string[];
  readonly startedAt: string;
  readonly endedAt: string;
  /** Every exchange with the host the step made itself (scripts sent, exit codes, stdout, stderr). */
  readonly transcript: readonly TranscriptEntry[];
  /** What the step learnt, as the host reported it. */
  readonly facts: Readonly<Record<string, unknown>>;
  /** A cmstp path's whole scenario result (execution, polls, verdicts), when the step ran one. */
  readonly scenario: ScenarioResult | null;
  /** The scenario's evidence-bundle files, already redacted. */
  readonly evidence: readonly { readonly path: string; readonly content: string }[];
  /** The host's event logs from the step's start to its end; empty when the step touched nothing. */
  readonly events: readonly SmokeEventLog[];
}

/** passed: every step ok; failed: a cmstp path's detection failed; problems: anything else went wrong. */
export type SmokeStatus = 'passed' | 'failed' | 'problems' | 'incomplete';

export interface SmokeReport {
  readonly kind: 'purple-harness-smoke';
  readonly schemaVersion: 1;
  readonly runId: string;
  readonly harness: { readonly name: 'purple-harness'; readonly version: string };
  readonly host: { readonly name: string; readonly address: string; readonly simulated: boolean };
  readonly lab: LabKind;
  readonly siem: { readonly id: string; readonly description: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: SmokeStatus;
  readonly steps: readonly SmokeStep[];
}

/** The smoke's status from its steps: a detection failure outranks other problems, which outrank gaps. */
export function smokeStatus(steps: readonly SmokeStep[], interrupted: boolean): SmokeStatus {
  if (steps.some((s) => s.scenario?.status === 'failed')) return 'failed';
  if (steps.some((s) => s.outcome === 'problem')) return 'problems';
  if (interrupted || steps.length === 0 || steps.some((s) => s.outcome === 'not-run')) return 'incomplete';
  return 'passed';
}
