import { firstFew } from './findings.js';
import type { ControlEvidence, ControlResult, ControlStatus } from './run-record.js';

/** How a control row reads in the reports. */
export const controlLabels = {
  met: 'MET',
  'not-met': 'NOT MET',
  'not-evaluated': 'NOT EVALUATED',
  demonstration: 'DEMONSTRATION ONLY',
} as const satisfies Record<ControlStatus, string>;

/**
 * The control's statement as what this run observed, never as a bare fact: a statement beside NOT MET would
 * read as true, and one beside a simulated result as proven.
 */
export function controlFinding(control: Pick<ControlResult, 'status' | 'statement'>): string {
  switch (control.status) {
    case 'met':
      return `Observed in this run: ${control.statement}`;
    case 'not-met':
      return `Not observed in this run, so not shown: ${control.statement}`;
    case 'not-evaluated':
      return `Not shown either way (no conclusive evidence in this run): ${control.statement}`;
    case 'demonstration':
      return `Demonstration only: simulated-lab results show the harness at work, not this control. Claim tested: ${control.statement}`;
  }
}

const listed = 6;

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** A control as a report row: its label, what the run showed, and what decided it. */
export function controlRow(control: ControlResult) {
  return {
    ...control,
    label: controlLabels[control.status],
    finding: controlFinding(control),
    decidedBy: controlDecidedBy(control),
  };
}

/** Which signals and hosts decided the row, short enough for a table cell. */
export function controlDecidedBy(control: Pick<ControlResult, 'status' | 'decidedBy' | 'missing'>): string {
  const parts: string[] = [];
  const entries: readonly ControlEvidence[] = control.decidedBy;
  if (control.status === 'met' || control.status === 'demonstration') {
    if (entries.length > 0)
      parts.push(
        `${distinct(entries.map((e) => e.signal)).join(', ')} on ${distinct(entries.map((e) => e.host)).join(', ')}`,
      );
  } else {
    const named = distinct(entries.map((e) => `${e.signal} on ${e.host} (${e.scenario})`));
    if (named.length > 0) parts.push(firstFew(named, listed, '; '));
  }
  if (control.status === 'not-evaluated' && control.missing.length > 0)
    parts.push(`no met evidence for ${control.missing.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'nothing in this run covers it';
}
