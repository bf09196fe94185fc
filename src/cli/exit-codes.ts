import type { ErrorCategory, RunStatus } from '../core/index.js';

/** The documented exit codes (docs/exit-codes.md). Only main.ts applies them. */
export const exitCodes = {
  passed: 0,
  assertionFailed: 1,
  invalidInput: 2,
  infrastructure: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export function exitCodeForRun(status: RunStatus): ExitCode {
  switch (status) {
    case 'passed':
      return exitCodes.passed;
    case 'failed':
      return exitCodes.assertionFailed;
    case 'inconclusive':
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
