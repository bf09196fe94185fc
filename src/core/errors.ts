/**
 * The only exceptions the harness throws. A missed detection is a result, never an exception:
 * these are for "could not evaluate" (infrastructure) and "cannot start" (invalid input).
 */

export const errorCodes = {
  E_SCENARIO_INVALID: 'input',
  E_CONFIG_INVALID: 'input',
  E_USAGE: 'input',
  E_TEMPLATE: 'input',
  E_UNSAFE_VALUE: 'input',
  E_TARGET_NOT_IN_INVENTORY: 'input',
  E_SECRET_MISSING: 'input',
  E_INDEX_INVALID: 'input',
  E_EXEC_CONNECT: 'infrastructure',
  E_EXEC_HOST_KEY: 'infrastructure',
  E_EXEC_TIMEOUT: 'infrastructure',
  E_EXEC_PROTOCOL: 'infrastructure',
  E_SIEM_AUTH: 'infrastructure',
  E_SIEM_UNAVAILABLE: 'infrastructure',
  E_SIEM_QUERY: 'infrastructure',
  E_LAB: 'infrastructure',
  E_REPORT_WRITE: 'infrastructure',
  E_INTERRUPTED: 'interrupted',
} as const;

export type ErrorCode = keyof typeof errorCodes;
export type ErrorCategory = (typeof errorCodes)[ErrorCode];

export interface HarnessErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class HarnessError extends Error {
  override readonly name: string = 'HarnessError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: HarnessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  get category(): ErrorCategory {
    return errorCodes[this.code];
  }
}

/** One problem in a file a user wrote, located to the character. */
export interface SourceIssue {
  file: string;
  line: number;
  col: number;
  message: string;
  /** Dotted path of the offending key, when there is one. */
  path?: string;
}

export function formatIssue(issue: SourceIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`;
}

/** Invalid scenario or config: carries every problem found, not just the first. */
export class ValidationError extends HarnessError {
  override readonly name = 'ValidationError';
  readonly issues: readonly SourceIssue[];

  constructor(
    code: 'E_SCENARIO_INVALID' | 'E_CONFIG_INVALID',
    issues: readonly SourceIssue[],
    options: HarnessErrorOptions = {},
  ) {
    super(code, `${issues.length} problem(s):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, {
      hint:
        options.hint ??
        'Fix each problem at the file:line:col shown, then run `purple-harness validate` again. docs/scenarios.md describes the format.',
      cause: options.cause,
    });
    this.issues = issues;
  }
}

export class ExecError extends HarnessError {
  override readonly name = 'ExecError';
}

export class SiemError extends HarnessError {
  override readonly name = 'SiemError';
  /** True when a later poll may succeed (429, 503, connection reset). */
  readonly retryable: boolean;
  /** The SIEM's Retry-After, when it sent one: the next poll waits at least this long. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: 'E_SIEM_AUTH' | 'E_SIEM_UNAVAILABLE' | 'E_SIEM_QUERY',
    message: string,
    options: HarnessErrorOptions & { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(code, message, options);
    this.retryable = options.retryable ?? code === 'E_SIEM_UNAVAILABLE';
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isHarnessError(value: unknown): value is HarnessError {
  return value instanceof HarnessError;
}

/** The message of anything thrown: an Error's message, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Refuses to start work once the run is interrupted: an already-aborted signal never fires its listeners,
 * so a plug-in that only listens would go on (or answer "nothing found" from what it already knows).
 */
export function refuseIfInterrupted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw interruption(what);
}

/** What an interrupted plug-in call rejects with, naming the plug-in and what it was about to do. */
export function interruption(what: string): HarnessError {
  return new HarnessError('E_INTERRUPTED', `${what}: interrupted`);
}
