import type { RunResult, ScenarioResult } from './run-record.js';
import { tuningElements, type TuningElement } from './scenario-model.js';

/** One boundary case of the run, as the reports list it. */
export interface BoundaryCaseRow {
  readonly scenario: string;
  readonly host: string;
  readonly label: string;
  /** `flagged` or `let through`, as the plan put it. */
  readonly side: string;
  readonly judged: string;
  readonly status: ScenarioResult['status'];
  /** The case held: the scenario passed, so the tuning does with it what the plan said. */
  readonly proven: boolean;
  /** Why it did not hold, from its first signal that did not pass; empty when it held. */
  readonly why: string;
}

export interface BoundaryElementRow {
  readonly element: TuningElement;
  /** What the run proved the tuning lets through and flags, and what it did not prove, in one sentence. */
  readonly sentence: string;
  readonly cases: readonly BoundaryCaseRow[];
}

export interface TuningBoundaries {
  /** The tuning this run's rules read, and the tunings its cases were planned under, when they differ. */
  readonly tuningSentence: string;
  readonly elements: readonly BoundaryElementRow[];
  /** The elements no case of this run sits beside, in AN0932's order. */
  readonly missing: readonly TuningElement[];
}

const joined = (items: readonly string[]): string => items.join(', ');

/** How each side reads: TimeWindow's line decides what counts as cmstp's, not what alerts. */
const sideWords = (element: TuningElement) =>
  element === 'TimeWindow'
    ? { flagged: 'tied to cmstp', 'let-through': 'not tied to cmstp' }
    : { flagged: 'flagged', 'let-through': 'let through' };

function caseRow(result: ScenarioResult): BoundaryCaseRow | null {
  const boundary = result.scenario.boundary;
  if (boundary === undefined) return null;
  const unproven = result.signals.find((s) => s.verdict !== 'pass');
  return {
    scenario: result.scenario.id,
    host: result.host.name,
    label: boundary.label,
    side: sideWords(boundary.element)[boundary.side],
    judged: joined(boundary.judged),
    status: result.status,
    proven: result.status === 'passed',
    why:
      result.status === 'passed'
        ? ''
        : (unproven?.reason ?? result.execution?.reason ?? `the scenario ${result.status}`),
  };
}

function sentenceOf(element: TuningElement, cases: readonly BoundaryCaseRow[]): string {
  const words = sideWords(element);
  const held = (side: string) => [
    ...new Set(cases.filter((c) => c.proven && c.side === side).map((c) => c.label)),
  ];
  const through = held(words['let-through']);
  const flagged = held(words.flagged);
  const parts =
    element === 'TimeWindow'
      ? [
          `ties to cmstp ${flagged.length > 0 ? joined(flagged) : 'none of its cases'}`,
          ...(through.length > 0 ? [`not ${joined(through)}`] : []),
        ]
      : [
          through.length > 0 ? `lets through ${joined(through)}` : 'lets through none of its cases',
          ...(flagged.length > 0 ? [`flags ${joined(flagged)}`] : []),
        ];
  const broken = cases.filter((c) => !c.proven).map((c) => `${c.label} on ${c.host} (${c.status})`);
  return `${parts.join('; ')}${broken.length > 0 ? `; NOT PROVEN: ${joined(broken)}` : ''}`;
}

/**
 * The run's tuning boundary cases (`tuning plan`), by element: what each case proved the tuning does, and what
 * it did not prove. Null when the run has none. Pure: the reports lay it out.
 */
export function tuningBoundaries(run: RunResult): TuningBoundaries | null {
  const rows = run.results.flatMap((r) => {
    const row = caseRow(r);
    return row === null
      ? []
      : [{ row, element: r.scenario.boundary?.element, planned: r.scenario.boundary?.plannedUnder }];
  });
  if (rows.length === 0) return null;
  const now = run.siem.tuning;
  const planned = [...new Set(rows.map((r) => r.planned ?? ''))];
  const differs = planned.some((p) => p !== now);
  return {
    tuningSentence: differs
      ? `Planned under tuning ${joined(planned)}; this run's rules read tuning ${now ?? 'not ours'}: a case that fails is one the change moved, or one the plan no longer describes. Make the plan again under this tuning to see what it lets through.`
      : `Planned under, and run with, tuning ${now ?? 'not ours'}.`,
    elements: tuningElements.flatMap((element) => {
      const cases = rows.filter((r) => r.element === element).map((r) => r.row);
      return cases.length === 0 ? [] : [{ element, sentence: sentenceOf(element, cases), cases }];
    }),
    missing: tuningElements.filter((element) => !rows.some((r) => r.element === element)),
  };
}
