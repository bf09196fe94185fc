import type { SignalId } from './scenario-model.js';
import type { ExecutionProgress } from './types.js';

/**
 * A field test in a signal's telemetry definition. Values may hold placeholders: `{{marker}}` (the run
 * marker) and `{{payloadFile}}` (the payload's file name on the target).
 */
export interface FieldMatch {
  readonly op: 'equals' | 'contains' | 'startswith' | 'endswith';
  readonly value: string;
}

/**
 * What must have happened on the host before a signal can be judged at all. If the emulation never got
 * that far, the signal is `inconclusive`, never `fail`: the SIEM cannot be blamed for what did not happen.
 */
export type SignalPrerequisite = 'staged' | 'started' | 'payload-ran';

export interface SignalDefinition {
  readonly id: SignalId;
  readonly title: string;
  readonly description: string;
  readonly requires: SignalPrerequisite;
  readonly telemetry: {
    /** Sysmon event ids that record the signal. */
    readonly eventIds: readonly number[];
    /** Every test must hold (AND). Field names are Sysmon's. */
    readonly match: Readonly<Record<string, FieldMatch>>;
  };
}

export function prerequisiteMet(requires: SignalPrerequisite, progress: ExecutionProgress): boolean {
  switch (requires) {
    case 'staged':
      return progress.staged;
    case 'started':
      return progress.started;
    case 'payload-ran':
      return progress.payloadRan;
  }
}
