import { HarnessError, parseDuration, realSleep, systemClock } from '../../core/index.js';
import { parseCron, runSchedule } from '../../pipeline/schedule.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

/**
 * `schedule --cron EXPR`: a long-running mode that starts a run at every trigger. Overlapping triggers are
 * skipped and logged; Ctrl-C or SIGTERM stops it gracefully (the run in progress cleans up and writes its
 * reports). Exits 130 when stopped, or the last run's code after --max-runs.
 */
export async function scheduleCommand(
  options: {
    readonly cron: string | undefined;
    readonly jitter: string | undefined;
    readonly maxRuns: string | undefined;
    readonly timezone: string | undefined;
    readonly validate: () => Promise<unknown>;
  },
  run: () => Promise<ExitCode>,
  ctx: { readonly signal: AbortSignal; readonly output: Output },
): Promise<ExitCode> {
  if (options.cron === undefined)
    throw new HarnessError('E_USAGE', 'schedule needs --cron', {
      hint: 'purple-harness schedule --cron "0 2 * * *" --jitter 10m (docs/scheduling.md)',
    });
  parseCron(options.cron, options.timezone);
  let jitterMs: number;
  try {
    jitterMs = options.jitter === undefined ? 0 : parseDuration(options.jitter);
  } catch (error) {
    throw new HarnessError('E_USAGE', `--jitter "${options.jitter ?? ''}" is not a duration`, {
      hint: 'Like 30s or 10m.',
      cause: error,
    });
  }
  const maxTriggers = options.maxRuns === undefined ? undefined : Number(options.maxRuns);
  if (maxTriggers !== undefined && (!Number.isInteger(maxTriggers) || maxTriggers < 1))
    throw new HarnessError(
      'E_USAGE',
      `--max-runs must be a whole number of at least 1, not "${options.maxRuns ?? ''}"`,
    );
  // A config or scenario problem should stop the scheduler now, not at 02:00.
  await options.validate();
  ctx.output.logger.info(
    `schedule: "${options.cron}"${options.timezone ? ` (${options.timezone})` : ''}, jitter ${String(jitterMs / 1000)} s`,
  );
  const summary = await runSchedule(
    {
      cron: options.cron,
      jitterMs,
      ...(options.timezone === undefined ? {} : { timezone: options.timezone }),
      ...(maxTriggers === undefined ? {} : { maxTriggers }),
    },
    () => run(),
    { clock: systemClock, sleep: realSleep, signal: ctx.signal, logger: ctx.output.logger },
  );
  ctx.output.out(
    `schedule stopped: ${String(summary.triggers)} trigger(s), ${String(summary.started)} run(s), ${String(summary.skipped)} skipped for overlap`,
  );
  if (ctx.signal.aborted) return exitCodes.interrupted;
  const last = summary.results.at(-1);
  return last === undefined || last < 0 ? exitCodes.passed : (last as ExitCode);
}
