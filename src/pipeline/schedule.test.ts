import test from 'ava';
import type { Logger } from '../core/index.js';
import { runSchedule } from './schedule.js';

/** A clock that moves only when the scheduler sleeps, flushing pending work at each step. */
function virtualTime(start = '2026-11-24T01:00:30Z') {
  let now = Date.parse(start);
  const lines: string[] = [];
  const logger: Logger = {
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    debug: () => undefined,
  };
  return {
    clock: { now: () => new Date(now) },
    sleep: async (ms: number) => {
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    logger,
    lines,
    at: () => new Date(now).toISOString(),
  };
}

function deferred(): { promise: Promise<number>; resolve: (code: number) => void } {
  let resolve: (code: number) => void = () => undefined;
  const promise = new Promise<number>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('a trigger that fires while the previous run is still going is skipped and logged, not queued', async (t) => {
  const time = virtualTime();
  const slow = deferred();
  const triggers: string[] = [];
  const controller = new AbortController();

  const summary = await runSchedule(
    { cron: '*/15 * * * *', jitterMs: 0, maxTriggers: 3 },
    (trigger) => {
      triggers.push(trigger.toISOString());
      // The first run outlasts two more triggers; it finishes only once the schedule winds down.
      setImmediate(() => {
        if (triggers.length === 1)
          setTimeout(() => {
            slow.resolve(1);
          }, 20);
      });
      return slow.promise;
    },
    { ...time, signal: controller.signal },
  );

  t.deepEqual(triggers, ['2026-11-24T01:15:00.000Z']);
  t.deepEqual(summary, { triggers: 3, started: 1, skipped: 2, results: [1] });
  const skips = time.lines.filter((l) => l.startsWith('warn schedule: trigger at'));
  t.deepEqual(skips, [
    'warn schedule: trigger at 2026-11-24T01:30:00.000Z skipped: the run started at 2026-11-24T01:15:00.000Z is still going',
    'warn schedule: trigger at 2026-11-24T01:45:00.000Z skipped: the run started at 2026-11-24T01:15:00.000Z is still going',
  ]);
});

test('runs that finish in time all run, each at its trigger plus jitter', async (t) => {
  const time = virtualTime();
  const starts: string[] = [];

  const summary = await runSchedule(
    { cron: '0 * * * *', jitterMs: 60_000, maxTriggers: 3 },
    () => {
      starts.push(time.at());
      return Promise.resolve(0);
    },
    { ...time, signal: new AbortController().signal, random: () => 0.5 },
  );

  t.deepEqual(summary, { triggers: 3, started: 3, skipped: 0, results: [0, 0, 0] });
  t.deepEqual(starts, ['2026-11-24T02:00:30.000Z', '2026-11-24T03:00:30.000Z', '2026-11-24T04:00:30.000Z']);
});

test('a graceful stop starts nothing new and waits for the run in progress', async (t) => {
  const time = virtualTime();
  const controller = new AbortController();
  const run = deferred();
  let finished = false;

  const summary = await runSchedule(
    { cron: '*/5 * * * *', jitterMs: 0 },
    () => {
      // The operator stops the scheduler while this run is going; the run still completes.
      setImmediate(() => {
        controller.abort();
        setTimeout(() => {
          finished = true;
          run.resolve(0);
        }, 20);
      });
      return run.promise;
    },
    { ...time, signal: controller.signal },
  );

  t.true(finished);
  t.deepEqual(summary, { triggers: 1, started: 1, skipped: 0, results: [0] });
});

test('a bad cron expression is invalid input', async (t) => {
  const time = virtualTime();
  await t.throwsAsync(
    runSchedule({ cron: 'every tuesday', jitterMs: 0 }, () => Promise.resolve(0), {
      ...time,
      signal: new AbortController().signal,
    }),
    { message: /--cron "every tuesday"/ },
  );
});
