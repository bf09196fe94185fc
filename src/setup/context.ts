import { randomBytes } from 'node:crypto';
import { newRunId, realSleep, systemClock, type Logger, type RunContext } from '../core/index.js';

/** A command's context on the real clock: a new run id, the logger, Ctrl-C and the secrets. */
export function commandContext(
  now: Date,
  output: { readonly logger: Logger },
  signal: AbortSignal,
  secrets: Set<string>,
): RunContext {
  return {
    runId: newRunId(now),
    clock: systemClock,
    sleep: realSleep,
    logger: output.logger,
    signal,
    secrets,
  };
}

/** A credential made for one run (the embedded lab's password, its HEC token). */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}
