import type { Logger } from '../core/index.js';
import { redact } from '../util/redact.js';

/** Everything the CLI prints goes through here, so a secret can never reach the terminal or a CI log. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  logger: Logger;
}

export function createOutput(
  secrets: ReadonlySet<string>,
  options: { debug: boolean; quiet: boolean },
): Output {
  const out = (line: string): void => {
    process.stdout.write(`${redact(line, secrets)}\n`);
  };
  const err = (line: string): void => {
    process.stderr.write(`${redact(line, secrets)}\n`);
  };
  return {
    out,
    err,
    logger: {
      info: (message) => {
        if (!options.quiet) err(`[purple-harness] ${message}`);
      },
      warn: (message) => {
        err(`[purple-harness] warning: ${message}`);
      },
      debug: (message) => {
        if (options.debug) err(`[purple-harness] debug: ${message}`);
      },
    },
  };
}
