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
  /** Tests write to their own streams. */
  readonly stdout?: Stream;
  readonly stderr?: Stream;
}

/** Terminal control sequences start with ESC. */
const esc = '\x1b';

/** no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR=0 too. */
function colourWanted(env: Readonly<Record<string, string | undefined>>, tty: boolean): boolean {
  if ((env.NO_COLOR ?? '') !== '' || env.FORCE_COLOR === '0') return false;
  return tty || (env.FORCE_COLOR ?? '') !== '';
}

/** Where the output goes: the process's own streams, or a test's. */
interface Stream {
  write(text: string): unknown;
  readonly columns?: number;
}

export function createOutput(secrets: ReadonlySet<string>, options: OutputOptions): Output {
  const env = options.env ?? process.env;
  const stdoutTTY = options.stdoutIsTTY ?? process.stdout.isTTY;
  const stderrTTY = options.stderrIsTTY ?? process.stderr.isTTY;
  const stdout: Stream = options.stdout ?? process.stdout;
  const stderr: Stream = options.stderr ?? process.stderr;
  const colour = colourWanted(env, stdoutTTY);
  // On a terminal, progress is a block at the bottom rewritten in place: the latest step, then one line per
  // wait counting down; elsewhere every step is its own line.
  const live = stderrTTY && !options.debug && !options.quiet;
  const block = liveBlock(stderr, secrets);
  const captured: string[] = [];
  const out = (line: string): void => {
    if (options.capture === true) {
      captured.push(redact(line, secrets));
      return;
    }
    block.above(() => stdout.write(`${redact(line, secrets)}\n`));
  };
  const err = (line: string): void => {
    block.above(() => stderr.write(`${redact(line, secrets)}\n`));
  };
  return {
    out,
    err,
    paint: (text, name) => (colour ? styleText(name, text) : text),
    captured: () => captured,
    finish: block.finish,
    logger: {
      info: (message) => {
        if (options.quiet) return;
        if (live) block.step(`[purple-harness] ${message}`);
        else err(`[purple-harness] ${message}`);
      },
      warn: (message) => {
        err(`[purple-harness] warning: ${message}`);
      },
      debug: (message) => {
        if (options.debug) err(`[purple-harness] debug: ${message}`);
      },
      ...(live ? { status: block.wait } : {}),
    },
  };
}

/**
 * The live block of a terminal: the latest step and each wait's countdown, redrawn in place (every second
 * while a wait is on). Lines are cut to the terminal's width so none wraps, which would break the redraw.
 */
function liveBlock(stderr: Stream, secrets: ReadonlySet<string>) {
  let step: string | null = null;
  const waits = new Map<string, { pending: string; leftMs: number; since: number }>();
  let shown = 0;
  let ticker: ReturnType<typeof setInterval> | null = null;
  const fit = (text: string): string => {
    const width = Math.max(20, (stderr.columns || 100) - 1);
    const clean = redact(text, secrets);
    return clean.length > width ? `${clean.slice(0, width - 1)}…` : clean;
  };
  const clear = (): void => {
    if (shown > 0) stderr.write(`\r${esc}[2K${`${esc}[1A\r${esc}[2K`.repeat(shown - 1)}`);
    shown = 0;
  };
  const draw = (): void => {
    clear();
    const now = Date.now();
    const lines = [
      ...(step === null ? [] : [step]),
      ...[...waits].map(([key, wait]) => {
        const left = Math.max(0, Math.ceil((wait.leftMs - (now - wait.since)) / 1000));
        // The countdown first: a line cut to the terminal's width loses its tail, never the time left.
        return `  ${String(left).padStart(3)} s left at most · ${key}: waiting for ${wait.pending}`;
      }),
    ];
    if (lines.length === 0) return;
    stderr.write(`\r${esc}[2K${lines.map(fit).join('\n')}`);
    shown = lines.length;
  };
  const tick = (): void => {
    if (waits.size > 0 && ticker === null) {
      ticker = setInterval(draw, 1000);
      ticker.unref();
    }
    if (waits.size === 0 && ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
  };
  return {
    /** A line printed above the block; the step line goes (as before), the waits are drawn again. */
    above: (write: () => void): void => {
      clear();
      step = null;
      write();
      if (waits.size > 0) draw();
    },
    step: (text: string): void => {
      step = text;
      draw();
    },
    wait: (key: string, wait: { readonly pending: string; readonly leftMs: number } | null): void => {
      if (wait === null) waits.delete(key);
      else waits.set(key, { ...wait, since: Date.now() });
      tick();
      draw();
    },
    finish: (): void => {
      waits.clear();
      tick();
      step = null;
      clear();
    },
  };
}
