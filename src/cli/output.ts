import { styleText } from 'node:util';
import type { Logger } from '../core/index.js';
import { redact } from '../util/redact.js';

type Colour = 'green' | 'red' | 'yellow' | 'gray';

/** Everything the CLI prints goes through here, so a secret can never reach the terminal or a CI log. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  logger: Logger;
  /** Colours a word on a terminal; plain text when NO_COLOR is set or output is not a terminal. */
  paint(text: string, colour: Colour): string;
  /** With --json on a command that has no JSON of its own: the lines out() was given. */
  captured(): readonly string[];
  /** Clears a progress line left on the terminal. */
  finish(): void;
}

export interface OutputOptions {
  readonly debug: boolean;
  readonly quiet: boolean;
  /** Collect out() lines instead of printing them (main prints them as JSON). */
  readonly capture?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTTY?: boolean;
  readonly stderrIsTTY?: boolean;
}

/** no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR=0 too. */
function colourWanted(env: Readonly<Record<string, string | undefined>>, tty: boolean): boolean {
  if ((env.NO_COLOR ?? '') !== '' || env.FORCE_COLOR === '0') return false;
  return tty || (env.FORCE_COLOR ?? '') !== '';
}

export function createOutput(secrets: ReadonlySet<string>, options: OutputOptions): Output {
  const env = options.env ?? process.env;
  const stdoutTTY = options.stdoutIsTTY ?? process.stdout.isTTY;
  const stderrTTY = options.stderrIsTTY ?? process.stderr.isTTY;
  const colour = colourWanted(env, stdoutTTY);
  // On a terminal, progress (info) is one line rewritten in place; elsewhere every step is its own line.
  const live = stderrTTY && !options.debug && !options.quiet;
  let progressShown = false;
  const clearProgress = (): void => {
    if (progressShown) process.stderr.write('\r\x1b[2K');
    progressShown = false;
  };
  const captured: string[] = [];
  const out = (line: string): void => {
    if (options.capture === true) {
      captured.push(redact(line, secrets));
      return;
    }
    clearProgress();
    process.stdout.write(`${redact(line, secrets)}\n`);
  };
  const err = (line: string): void => {
    clearProgress();
    process.stderr.write(`${redact(line, secrets)}\n`);
  };
  return {
    out,
    err,
    paint: (text, name) => (colour ? styleText(name, text) : text),
    captured: () => captured,
    finish: clearProgress,
    logger: {
      info: (message) => {
        if (options.quiet) return;
        if (!live) {
          err(`[purple-harness] ${message}`);
          return;
        }
        const width = Math.max(20, (process.stderr.columns || 100) - 1);
        const text = redact(`[purple-harness] ${message}`, secrets);
        process.stderr.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
        progressShown = true;
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
