import type { ErrorCategory, RunStatus } from '../core/index.js';

/** The documented exit codes (docs/exit-codes.md). Only main.ts applies them. */
export const exitCodes = {
  passed: 0,
  assertionFailed: 1,
  invalidInput: 2,
  infrastructure: 3,
  regression: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** A regression (passed before, fails now) outranks 3 and 1: it is the news a scheduled run exists for. */
export function exitCodeForRun(status: RunStatus, regressions = 0): ExitCode {
  if (regressions > 0 && status !== 'interrupted') return exitCodes.regression;
  switch (status) {
    case 'passed':
      return exitCodes.passed;
    case 'failed':
      return exitCodes.assertionFailed;
    case 'inconclusive':
    case 'incomplete':
    case 'error':
    case 'cleanup-failed':
      return exitCodes.infrastructure;
    case 'interrupted':
      return exitCodes.interrupted;
  }
}

export function exitCodeForError(category: ErrorCategory): ExitCode {
  switch (category) {
    case 'input':
      return exitCodes.invalidInput;
    case 'infrastructure':
      return exitCodes.infrastructure;
    case 'interrupted':
      return exitCodes.interrupted;
  }
}
