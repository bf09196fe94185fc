import { Cron } from 'croner';
import { HarnessError, errorMessage, type Clock, type Logger } from '../core/index.js';

export interface ScheduleOptions {
  /** A cron expression (5 or 6 fields), read by croner. */
  readonly cron: string;
  /** Each run starts up to this much after its trigger, at random, so many labs do not fire at once. */
  readonly jitterMs: number;
  /** IANA time zone for the expression; default the machine's. */
  readonly timezone?: string;
  /** Stop after this many triggers (run or skipped); default: until stopped. */
  readonly maxTriggers?: number;
}

export interface ScheduleContext {
  readonly clock: Clock;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Aborting stops the schedule gracefully: no new run starts, and the one running is waited for. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly random?: () => number;
}

export interface ScheduleSummary {
  readonly triggers: number;
  readonly started: number;
  readonly skipped: number;
  /** The exit code of each run that finished, in order. */
  readonly results: readonly number[];
}

/** Parses a cron expression, or says plainly what is wrong with it (exit 2). */
export function parseCron(expression: string, timezone?: string): Cron {
  try {
    return new Cron(expression, { paused: true, ...(timezone === undefined ? {} : { timezone }) });
  } catch (error) {
    throw new HarnessError('E_USAGE', `--cron "${expression}": ${errorMessage(error)}`, {
      hint: 'Five fields, minute hour day-of-month month day-of-week: "0 2 * * *" runs at 02:00 every day.',
    });
  }
}

/**
 * Runs `job` at every trigger of a cron expression until stopped. Overlap is prevented: a trigger that
 * fires while the previous run is still going is skipped and logged, never queued (runs on one lab must
 * not pile up). croner reads the expression; the waiting uses the injected clock, so tests need no timers.
 */
export async function runSchedule(
  options: ScheduleOptions,
  job: (trigger: Date) => Promise<number>,
  ctx: ScheduleContext,
): Promise<ScheduleSummary> {
  const cron = parseCron(options.cron, options.timezone);
  const random = ctx.random ?? Math.random;
  let running: { startedAt: Date; done: Promise<void> } | null = null;
  let triggers = 0;
  let started = 0;
  let skipped = 0;
  const results: number[] = [];
  // Read through a function: the signal can flip while this loop awaits.
  const stopped = (): boolean => ctx.signal.aborted;
  while (!stopped() && (options.maxTriggers === undefined || triggers < options.maxTriggers)) {
    const now = ctx.clock.now();
    const next = cron.nextRun(now);
    if (next === null) {
      ctx.logger.info(`schedule: "${options.cron}" has no further trigger; stopping`);
      break;
    }
    const wait = next.getTime() - now.getTime() + Math.floor(random() * options.jitterMs);
    ctx.logger.info(`schedule: next run at ${new Date(now.getTime() + wait).toISOString()}`);
    try {
      await ctx.sleep(Math.max(0, wait), ctx.signal);
    } catch (error) {
      if (stopped()) break;
      throw error;
    }
    if (stopped()) break;
    triggers += 1;
    if (running !== null) {
      skipped += 1;
      ctx.logger.warn(
        `schedule: trigger at ${next.toISOString()} skipped: the run started at ${running.startedAt.toISOString()} is still going`,
      );
      continue;
    }
    started += 1;
    const startedAt = ctx.clock.now();
    const current = {
      startedAt,
      done: job(next).then(
        (code) => {
          results.push(code);
        },
        (error: unknown) => {
          // The run reports its own errors; a scheduler keeps going.
          ctx.logger.warn(
            `schedule: the run started at ${startedAt.toISOString()} failed: ${errorMessage(error)}`,
          );
          results.push(-1);
        },
      ),
    };
    running = current;
    void current.done.finally(() => {
      if (running === current) running = null;
    });
  }
  // A graceful stop: the run in progress finishes (it has its own interrupt handling and clean-up).
  if (running !== null) await running.done;
  return { triggers, started, skipped, results };
}
