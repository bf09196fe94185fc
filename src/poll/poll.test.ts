import test from 'ava';
import type {
  IngestNotice,
  SignalId,
  SiemAlert,
  SiemConnector,
  SiemEvent,
  TelemetryQuery,
} from '../core/index.js';
import { silentLogger, SiemError } from '../core/index.js';
import { canaryProbe } from '../signals/canary.js';
import { signalCatalog } from '../signals/catalog.js';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { pushSettleMs, type PollPlan } from './poll.js';
import { findIsolating, pollSignals } from './run-poller.js';

const event: SiemEvent = {
  ref: 'e1',
  time: '2026-11-23T12:00:00Z',
  indexedAt: null,
  host: 'h',
  eventId: 1,
  fields: { Image: 'C:\\x\\cmstp.exe' },
};

/** A scripted connector: answer N is what poll N sees. */
function scripted(
  answers: readonly (readonly SiemEvent[] | Error)[],
  alerts: readonly SiemAlert[] = [],
): SiemConnector & { queries: TelemetryQuery[] } {
  const queries: TelemetryQuery[] = [];
  return {
    id: 'fake',
    queries,
    describe: () => 'fake',
    queryText: () => 'fake query',
    findTelemetry: (query) => {
      queries.push(query);
      const answer = answers[Math.min(queries.length - 1, answers.length - 1)] ?? [];
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(new Map<SignalId, SiemEvent[]>([['cmstp-exec', [...answer]]]));
    },
    findDetections: () => Promise.resolve(alerts),
    ingestEndpoint: () => null,
    dispose: () => Promise.resolve(),
  };
}

function plan(connector: SiemConnector, detected?: boolean): PollPlan {
  return {
    connector,
    host: 'h',
    marker: 'ph1',
    bindings: { marker: 'ph1', payloadFile: 'ph1.inf' },
    processWindow: { since: new Date('2026-11-23T11:59:59Z'), until: new Date('2026-11-23T12:00:05Z') },
    since: new Date('2026-11-23T11:55:00Z'),
    evidenceUntil: null,
    canary: null,
    signals: [
      {
        definition: signalCatalog['cmstp-exec'],
        expectation: {
          signal: 'cmstp-exec',
          captured: true,
          ...(detected === undefined ? {} : { detected }),
        },
      },
    ],
    captureTimeoutMs: 30_000,
    detectTimeoutMs: 30_000,
    schedule: {
      initialDelayMs: 1000,
      intervalMs: 1000,
      maxIntervalMs: 8000,
      jitter: 0,
      finalSweepDelayMs: 5000,
    },
  };
}

const ctx = (clock: ReturnType<typeof fakeClock>) => ({
  ...clock,
  signal: new AbortController().signal,
  logger: silentLogger,
});

test('stops polling as soon as the telemetry is seen, and records when', async (t) => {
  const clock = fakeClock();
  const connector = scripted([[], [], [event]]);

  const { signals: observations } = await pollSignals(plan(connector), ctx(clock));

  const observation = observations.get('cmstp-exec');
  t.is(observation?.events.length, 1);
  t.is(observation?.firstSeenAt, '2026-11-23T12:00:04.000Z');
  t.deepEqual(clock.slept, [1000, 1000, 2000]);
  t.is(connector.queries.length, 4);
  t.deepEqual(connector.queries[0]?.bindings, { marker: 'ph1', payloadFile: 'ph1.inf' });
});

test('gives up at the deadline with exponential backoff, after a final sweep', async (t) => {
  const clock = fakeClock();
  const connector = scripted([[]]);

  const { signals: observations } = await pollSignals(plan(connector), ctx(clock));

  t.is(observations.get('cmstp-exec')?.events.length, 0);
  t.deepEqual(clock.slept.slice(0, 5), [1000, 1000, 2000, 4000, 8000]);
  t.true(clock.clock.now().getTime() - Date.parse('2026-11-23T12:00:00Z') <= 31_000 + 8000);
  t.is(observations.get('cmstp-exec')?.error, null);
});

test('a retryable SIEM error is retried; a late success clears it', async (t) => {
  const connector = scripted([new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503'), [event]]);

  const { signals: observations } = await pollSignals(plan(connector), ctx(fakeClock()));

  t.is(observations.get('cmstp-exec')?.events.length, 1);
  t.is(observations.get('cmstp-exec')?.error, null);
});

/** A poll context whose operator presses Ctrl-C during the second wait. */
function interruptedCtx() {
  const controller = new AbortController();
  const clock = fakeClock();
  const sleep = (ms: number) => {
    if (clock.slept.length === 2) controller.abort();
    if (controller.signal.aborted) return Promise.reject(new Error('aborted'));
    return clock.sleep(ms);
  };
  return { ...clock, sleep, signal: controller.signal, logger: silentLogger };
}

test('an interrupt stops polling, keeps what was seen, and marks unsettled signals', async (t) => {
  const connector = scripted([[event]]);

  const { signals: observations } = await pollSignals(plan(connector, true), interruptedCtx());

  t.is(observations.get('cmstp-exec')?.events.length, 1);
  t.regex(observations.get('cmstp-exec')?.error ?? '', /interrupted before the deadline/);
});

test('a fatal SIEM error stops polling and is recorded on the signal', async (t) => {
  const connector = scripted([new SiemError('E_SIEM_AUTH', 'HTTP 401')]);

  const { signals: observations } = await pollSignals(plan(connector), ctx(fakeClock()));

  t.is(connector.queries.length, 1);
  t.regex(observations.get('cmstp-exec')?.error ?? '', /401/);
});

const alertOnEvent: SiemAlert = {
  ref: 'a1',
  ruleId: 'r',
  title: 'R',
  level: 'high',
  host: 'h',
  time: 't',
  eventRefs: ['e1'],
};

test('keeps polling for the alert after the telemetry arrives', async (t) => {
  const alert = alertOnEvent;
  const unrelated: SiemAlert = { ...alert, ref: 'a2', eventRefs: ['other'] };
  const connector = scripted([[event]], [unrelated, alert]);

  const { signals: observations } = await pollSignals(plan(connector, true), ctx(fakeClock()));

  t.deepEqual(
    observations.get('cmstp-exec')?.alerts.map((a) => a.ref),
    ['a1'],
  );
});

test('what first arrives in the final sweep, after the deadline, is recorded as late', async (t) => {
  const clock = fakeClock();
  const deadline = clock.clock.now().getTime() + 30_000;
  const base = scripted([[]]);
  const connector = {
    ...base,
    // The event reaches the SIEM just after the capture deadline.
    findTelemetry: (query: TelemetryQuery) =>
      clock.clock.now().getTime() > deadline
        ? Promise.resolve(new Map<SignalId, SiemEvent[]>([['cmstp-exec', [event]]]))
        : base.findTelemetry(query),
  };

  const { signals: observations } = await pollSignals(plan(connector), ctx(clock));

  t.is(observations.get('cmstp-exec')?.events.length, 1);
  t.true(observations.get('cmstp-exec')?.capturedLate);
});

test('N pending signals, M poll rounds: exactly M telemetry queries, each covering all N, each in the query log', async (t) => {
  const clock = fakeClock();
  const connector = scripted([[]]);
  const pending = plan(connector);
  const three = {
    ...pending,
    signals: (['cmstp-exec', 'child-process', 'payload-file'] as const).map((id) => ({
      definition: signalCatalog[id],
      expectation: { signal: id, captured: true },
    })),
  };

  const { signals: observations, queries } = await pollSignals(three, ctx(clock));

  const rounds = observations.get('cmstp-exec')?.polls ?? 0;
  t.true(rounds >= 5);
  t.is(connector.queries.length, rounds);
  for (const query of connector.queries) t.is(query.signals.length, 3);
  t.is(queries.filter((q) => q.kind === 'telemetry').length, rounds);
  t.true(queries.every((q) => q.text === 'fake query' && q.probes.length === 3 && q.hits === 0));
});

test('an alert that must not fire: waited out to the deadline, unless the SIEM runs its rules at ingest', async (t) => {
  const waited = fakeClock();
  const atIngest = fakeClock();
  const slow = scripted([[event]]);
  const fast = { ...scripted([[event]]), alertsAtIngest: true };

  const a = await pollSignals(plan(slow, false), ctx(waited));
  const b = await pollSignals(plan(fast, false), ctx(atIngest));

  // Without the guarantee, absence needs the whole detection window; with it, one detections query proves it.
  t.true(waited.slept.reduce((x, y) => x + y, 0) >= 30_000);
  t.true(atIngest.slept.reduce((x, y) => x + y, 0) < 10_000);
  t.deepEqual(a.signals.get('cmstp-exec')?.alerts, []);
  t.deepEqual(b.signals.get('cmstp-exec')?.alerts, []);
  t.is(b.signals.get('cmstp-exec')?.error, null);
});

test('rules at ingest never cut short an alert that must fire', async (t) => {
  const clock = fakeClock();
  const connector = { ...scripted([[event]]), alertsAtIngest: true };

  const { signals } = await pollSignals(plan(connector, true), ctx(clock));

  // No alert arrives: the poll still waits out the detection deadline before calling it missing.
  t.true(clock.slept.reduce((x, y) => x + y, 0) >= 30_000);
  t.deepEqual(signals.get('cmstp-exec')?.alerts, []);
});

test('#14.1 absence of alerts is observed only when a detections query succeeded after the deadline', async (t) => {
  const ok = await pollSignals(plan(scripted([[event]]), false), ctx(fakeClock()));
  t.deepEqual(ok.signals.get('cmstp-exec')?.absence, { telemetry: false, alerts: true });

  // The alert search refused (403): the events are there, but whether an alert fired was never seen.
  const refused = {
    ...scripted([[event]]),
    findDetections: () => Promise.reject(new SiemError('E_SIEM_AUTH', 'HTTP 403')),
  };
  const denied = await pollSignals(plan(refused, false), ctx(fakeClock()));
  t.is(denied.signals.get('cmstp-exec')?.absence?.alerts, false);
  t.regex(denied.signals.get('cmstp-exec')?.error ?? '', /403/);

  // 503 throughout, the final sweep included: still not observed.
  const unavailable = {
    ...scripted([[event]]),
    findDetections: () =>
      Promise.reject(new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503', { retryable: true })),
  };
  const down = await pollSignals(plan(unavailable, false), ctx(fakeClock()));
  t.is(down.signals.get('cmstp-exec')?.absence?.alerts, false);
});

test('#14.1 an interrupt during polling never leaves absence observed', async (t) => {
  const { signals } = await pollSignals(plan(scripted([[event]]), false), interruptedCtx());
  t.deepEqual(signals.get('cmstp-exec')?.absence, { telemetry: false, alerts: false });
});

test('#14.1 absence of telemetry is observed by the sweep after the deadline, not by a failed one', async (t) => {
  const clean = await pollSignals(plan(scripted([[]])), ctx(fakeClock()));
  t.is(clean.signals.get('cmstp-exec')?.absence?.telemetry, true);

  const failing = await pollSignals(
    plan(scripted([[], new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503', { retryable: true })])),
    ctx(fakeClock()),
  );
  t.is(failing.signals.get('cmstp-exec')?.absence?.telemetry, false);
});

test('#14.9 a 503 on the on-demand rule dispatch is retried; the alert that follows is found', async (t) => {
  let dispatches = 0;
  const alert = alertOnEvent;
  const connector = {
    ...scripted([[event]]),
    triggerRules: () => {
      dispatches += 1;
      return dispatches === 1
        ? Promise.reject(new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503 on dispatch'))
        : Promise.resolve(['dispatched']);
    },
    findDetections: () => Promise.resolve(dispatches >= 2 ? [alert] : []),
  };

  const { signals } = await pollSignals(plan(connector, true), ctx(fakeClock()));

  t.is(dispatches, 2);
  t.deepEqual(
    signals.get('cmstp-exec')?.alerts.map((a) => a.ref),
    ['a1'],
  );
  t.is(signals.get('cmstp-exec')?.error, null);
});

test('#14.9 a dispatch that never succeeds leaves detection unobserved (inconclusive), never "not detected"', async (t) => {
  const connector = {
    ...scripted([[event]]),
    triggerRules: () => Promise.reject(new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503 on dispatch')),
  };

  const { signals } = await pollSignals(plan(connector, true), ctx(fakeClock()));

  t.is(signals.get('cmstp-exec')?.absence?.alerts, false);
  t.regex(signals.get('cmstp-exec')?.error ?? '', /503 on dispatch/);
});

/** A connector that refuses any batch holding one of `bad` (HTTP 400 as the SIEM's own error). */
function refusing(bad: readonly string[]): SiemConnector & { batches: string[][] } {
  const batches: string[][] = [];
  return {
    id: 'fake',
    batches,
    describe: () => 'fake',
    queryText: () => 'fake query',
    findTelemetry: (query) => {
      const ids = query.signals.map((s) => s.id);
      batches.push(ids);
      if (ids.some((id) => bad.includes(id)))
        return Promise.reject(
          new SiemError('E_SIEM_QUERY', `[siem:fake] HTTP 400: bad clause in ${ids.join(',')}`),
        );
      return Promise.resolve(new Map(ids.map((id) => [id, [{ ...event, ref: id }]])));
    },
    findDetections: () => Promise.resolve([]),
    ingestEndpoint: () => null,
    dispose: () => Promise.resolve(),
  };
}

const everyProbe = (): TelemetryQuery => ({
  host: 'h',
  marker: 'ph1',
  bindings: {},
  processWindow: { since: new Date(0), until: new Date(1) },
  since: new Date(0),
  until: new Date(1),
  signals: Object.values(signalCatalog),
});

test('#16 a refused batch is split until the refusal names one probe: the others are answered, the refused one is named', async (t) => {
  const connector = refusing(['scriptlet-load']);

  const { found, refused } = await findIsolating(connector, everyProbe(), new AbortController().signal);

  t.deepEqual([...refused.keys()], ['scriptlet-load']);
  t.regex(refused.get('scriptlet-load') ?? '', /HTTP 400: bad clause in scriptlet-load$/);
  t.is(found.size, Object.keys(signalCatalog).length - 1);
  t.false(found.has('scriptlet-load'));
  // Halving: far fewer searches than one per probe, plus the first batch.
  t.true(connector.batches.length <= 2 * Math.ceil(Math.log2(Object.keys(signalCatalog).length)) + 1);
});

test('#16 when every probe is refused on its own, the query as a whole is wrong: the refusal is thrown, not spread over signals', async (t) => {
  const connector = refusing(Object.keys(signalCatalog));

  await t.throwsAsync(findIsolating(connector, everyProbe(), new AbortController().signal), {
    instanceOf: SiemError,
  });
});

test('#16 errors that are no refusal (a 503, an auth error) are not split: they go to the poll loop as before', async (t) => {
  const connector = refusing([]);
  const busy: SiemConnector = {
    ...connector,
    findTelemetry: () => Promise.reject(new SiemError('E_SIEM_UNAVAILABLE', '[siem:fake] HTTP 503')),
  };

  await t.throwsAsync(findIsolating(busy, everyProbe(), new AbortController().signal), { message: /503/ });
});

test('#16 a canary whose own query the SIEM refuses is asked for once, not on every poll, and stays unseen', async (t) => {
  const connector = refusing(['pipeline-canary']);

  const outcome = await pollSignals({ ...plan(connector, true), canary: canaryProbe }, ctx(fakeClock()));

  // The first poll: the batch with the canary is refused, split, and the canary refused alone.
  t.is(connector.batches.filter((b) => b.includes('pipeline-canary')).length, 2);
  t.true(connector.batches.length > 3, 'later polls go on without the canary');
  t.is(outcome.canary?.event, null);
  t.is(outcome.signals.get('cmstp-exec')?.events.length, 1);
});

/** A connector that answers cmstp-exec from poll `seenFrom` on, the canary when `canary` is set, and nothing else. */
function twoSignals(seenFrom: number, canary = false): SiemConnector & { batches: string[][] } {
  const batches: string[][] = [];
  return {
    ...scripted([[]]),
    batches,
    findTelemetry: (query) => {
      batches.push(query.signals.map((s) => s.id));
      const found = new Map<string, SiemEvent[]>();
      if (batches.length >= seenFrom) found.set('cmstp-exec', [event]);
      if (canary) found.set('pipeline-canary', [{ ...event, ref: 'canary' }]);
      return Promise.resolve(found as Map<SignalId, SiemEvent[]>);
    },
  };
}

const withBlind = (base: PollPlan): PollPlan => ({
  ...base,
  signals: [
    ...base.signals,
    {
      definition: signalCatalog['child-process'],
      expectation: { signal: 'child-process', captured: true },
      blind: true,
    },
  ],
});

// #18 build point 4: a signal preflight found the sensors blind to is looked for, never waited for.
test('#18 a blind signal is looked for in every query, but the wait ends once the others are settled', async (t) => {
  const clock = fakeClock();
  const connector = twoSignals(2);

  const { signals: observations } = await pollSignals(withBlind(plan(connector)), ctx(clock));

  // Poll 2 saw cmstp-exec at 2 s: then only the final sweep (5 s later), not the 30 s deadline.
  t.deepEqual(clock.slept, [1000, 1000, 5000]);
  t.deepEqual(connector.batches, [
    ['cmstp-exec', 'child-process'],
    ['cmstp-exec', 'child-process'],
    ['cmstp-exec', 'child-process'],
  ]);
  const blind = observations.get('child-process');
  t.is(blind?.notAwaited, true);
  t.is(blind?.polls, 3);
  t.deepEqual(blind?.absence, { telemetry: true, alerts: false });
  t.is(observations.get('cmstp-exec')?.notAwaited, false);
});

test('#18 a blind signal keeps the wait going for the canary, which alone shows its silence is not a broken pipeline', async (t) => {
  const unseen = fakeClock();
  const noCanary = twoSignals(1);
  const waited = await pollSignals({ ...withBlind(plan(noCanary)), canary: canaryProbe }, ctx(unseen));
  // The canary never came: the wait ran to the capture deadline, so the blind signal was waited for.
  t.true(unseen.clock.now().getTime() - Date.parse('2026-11-23T12:00:00Z') > 30_000);
  t.is(waited.signals.get('child-process')?.notAwaited, false);

  const seen = fakeClock();
  const withCanary = twoSignals(1, true);
  const quick = await pollSignals({ ...withBlind(plan(withCanary)), canary: canaryProbe }, ctx(seen));
  t.deepEqual(seen.slept, [1000, 5000]);
  t.not(quick.canary?.event, null);
  t.is(quick.signals.get('child-process')?.notAwaited, true);
});

test('#18 a blind signal whose events do arrive (preflight was wrong) is waited for like any other', async (t) => {
  const clock = fakeClock();
  const base = withBlind(plan(scripted([[]])));
  const connector: SiemConnector = {
    ...scripted([[]]),
    findTelemetry: () =>
      Promise.resolve(new Map<SignalId, SiemEvent[]>([['child-process', [{ ...event, ref: 'c1' }]]])),
  };
  const { signals: observations } = await pollSignals({ ...base, connector }, ctx(clock));
  // cmstp-exec never arrives: the wait runs to its deadline; the blind signal was seen and is not "not awaited".
  t.true(clock.clock.now().getTime() - Date.parse('2026-11-23T12:00:00Z') > 30_000);
  t.is(observations.get('child-process')?.events.length, 1);
  t.is(observations.get('child-process')?.notAwaited, false);
  t.is(observations.get('child-process')?.capturedLate, false);
});

/** A logger that keeps what it was told; with `live`, it also takes the terminal's countdown. */
function recording(live: boolean) {
  const info: string[] = [];
  const status: [string, { pending: string; leftMs: number } | null][] = [];
  return {
    info,
    status,
    logger: {
      info: (m: string) => info.push(m),
      warn: () => undefined,
      debug: () => undefined,
      ...(live
        ? {
            status: (key: string, wait: { pending: string; leftMs: number } | null) =>
              status.push([key, wait]),
          }
        : {}),
    },
  };
}

// #18 build point 4: waits that speak.
test('#18 off a terminal: a line when a signal is seen, and every 10 s what is still awaited and how long is left', async (t) => {
  const clock = fakeClock();
  const said = recording(false);
  await pollSignals(
    { ...plan(scripted([[]]), true), label: 'x on h' },
    { ...ctx(clock), logger: said.logger },
  );
  // Polled at 1, 2, 4, 8, 16 and 24 s to the 30 s deadline: one heartbeat, the first poll 10 s in.
  t.deepEqual(
    said.info.filter((m) => m.startsWith('x on h: waiting for')),
    ['x on h: waiting for cmstp-exec (its telemetry); at most 44.0 s left'],
  );

  const seen = recording(false);
  await pollSignals(
    { ...plan(scripted([[], [event]])), label: 'x on h' },
    { ...ctx(fakeClock()), logger: seen.logger },
  );
  t.deepEqual(seen.info, ['x on h: cmstp-exec seen (2.0 s into the wait)']);
});

test('#18 on a terminal: the wait is a countdown the terminal redraws, cleared when the wait ends; no heartbeat lines', async (t) => {
  const clock = fakeClock();
  const said = recording(true);
  await pollSignals(
    { ...plan(scripted([[], [], [event]]), true), label: 'x on h' },
    { ...ctx(clock), logger: said.logger },
  );
  const live = said.status.filter(([, wait]) => wait !== null);
  t.true(said.status.every(([key]) => key === 'x on h'));
  // Each poll redraws the countdown (the terminal counts down in between), then the wait's line goes.
  t.deepEqual(
    live.map(([, wait]) => wait?.leftMs),
    [59_000, 58_000, 56_000, 52_000, 44_000, 36_000, 28_000],
  );
  t.is(live[0]?.[1]?.pending, 'cmstp-exec (its telemetry)');
  t.is(live[2]?.[1]?.pending, 'cmstp-exec (an alert)');
  t.is(said.status.at(-1)?.[1], null);
  t.is(
    said.status.findIndex(([, wait]) => wait === null),
    live.length,
  );
  t.false(said.info.some((m) => m.includes('waiting for')));
});

/**
 * #20 push: a SIEM that says when a host's events arrive (onIngest) ends the poll's wait then. The sleep
 * here moves the clock by a full wait unless it is woken first, which moves it by nothing.
 */
function wakeableClock(start = Date.parse('2026-11-23T12:00:00Z')) {
  let now = start;
  const waits: string[] = [];
  return {
    clock: { now: () => new Date(now) },
    waits,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waits.push(`slept ${String(ms)}`);
          now += ms;
          resolve();
        }, 20);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            waits.push('woken');
            reject(new Error('woken'));
          },
          { once: true },
        );
      }),
  };
}

/** Events stamped at the poll's start (12:00:00), inside every window plan() gives. */
const inWindow = { earliest: new Date('2026-11-23T12:00:00Z'), latest: new Date('2026-11-23T12:00:00Z') };

/**
 * A SIEM whose event becomes searchable as the poll starts: with `push`, it arrives as the poll starts its
 * first wait and the SIEM says so, saying when the events it stored were stamped (`stamped`); without, it is
 * there from the start and waits for the first look.
 */
function arriving(push: boolean, stamped: IngestNotice = inWindow): SiemConnector {
  let searchable = !push;
  const base = scripted([[]]);
  return {
    ...base,
    findTelemetry: (query) =>
      searchable
        ? Promise.resolve(new Map<SignalId, SiemEvent[]>([['cmstp-exec', [event]]]))
        : base.findTelemetry(query),
    ...(push
      ? {
          // One arrival: the first wait is told of it.
          onIngest: (host: string, listener: (arrived: IngestNotice) => void) => {
            if (!searchable)
              setImmediate(() => {
                searchable = true;
                if (host === 'h') listener(stamped);
              });
            return () => undefined;
          },
        }
      : {}),
  };
}

test('#20 push: an ingest the SIEM announces ends the wait, and the event is recorded with no poll interval spent', async (t) => {
  const pushed = wakeableClock();
  const { signals: withPush } = await pollSignals(plan(arriving(true), false), {
    ...pushed,
    signal: new AbortController().signal,
    logger: silentLogger,
  });
  // Woken, then the settle time a burst of posts gets to land, and no poll interval.
  t.is(
    withPush.get('cmstp-exec')?.firstSeenAt,
    new Date(Date.parse('2026-11-23T12:00:00Z') + pushSettleMs).toISOString(),
  );
  t.deepEqual(pushed.waits.slice(0, 2), ['woken', `slept ${String(pushSettleMs)}`]);

  // The control: the same SIEM without push is found only after the first wait (the initial delay).
  const polled = wakeableClock();
  const { signals: withoutPush } = await pollSignals(plan(arriving(false), false), {
    ...polled,
    signal: new AbortController().signal,
    logger: silentLogger,
  });
  t.is(withoutPush.get('cmstp-exec')?.firstSeenAt, '2026-11-23T12:00:01.000Z');
  t.is(polled.waits[0], 'slept 1000');
});

test("#20 push: events stamped outside the pair's window (clean-up's own, or before it began) do not bring its look forward; a span that reaches into it, or an undated one, does", async (t) => {
  const evidenceUntil = new Date('2026-11-23T12:00:10Z');
  const at = (iso: string) => new Date(iso);
  const firstLook = async (stamped: IngestNotice) => {
    const clock = wakeableClock();
    const { signals } = await pollSignals(
      { ...plan(arriving(true, stamped), false), evidenceUntil },
      { ...clock, signal: new AbortController().signal, logger: silentLogger },
    );
    return signals.get('cmstp-exec')?.firstSeenAt;
  };
  const woken = new Date(Date.parse('2026-11-23T12:00:00Z') + pushSettleMs).toISOString();
  const scheduled = '2026-11-23T12:00:01.000Z';

  // After the evidence end: clean-up's events. Before `since` (11:55): another run's.
  t.is(
    await firstLook({ earliest: at('2026-11-23T12:00:10.001Z'), latest: at('2026-11-23T12:00:30Z') }),
    scheduled,
  );
  t.is(
    await firstLook({ earliest: at('2026-11-23T11:50:00Z'), latest: at('2026-11-23T11:54:59.999Z') }),
    scheduled,
  );
  // Both bounds are inside the window, as the query's `>=` and `<=` take them.
  t.is(await firstLook({ earliest: at('2026-11-23T12:00:10Z'), latest: at('2026-11-23T12:00:30Z') }), woken);
  t.is(await firstLook({ earliest: at('2026-11-23T11:50:00Z'), latest: at('2026-11-23T11:55:00Z') }), woken);
  t.is(await firstLook({ earliest: at('2026-11-23T11:50:00Z'), latest: at('2026-11-23T12:30:00Z') }), woken);
  t.is(await firstLook({ earliest: new Date(Number.NaN), latest: new Date(Number.NaN) }), woken);
});

test('#20 push: an interrupt during a wait still ends the poll as an interrupt, not as a wake-up', async (t) => {
  const clock = wakeableClock();
  const stop = new AbortController();
  const connector: SiemConnector = { ...scripted([[]]), onIngest: () => () => undefined };
  setImmediate(() => {
    stop.abort();
  });
  const { signals } = await pollSignals(plan(connector, false), {
    ...clock,
    signal: stop.signal,
    logger: silentLogger,
  });
  t.is(signals.get('cmstp-exec')?.events.length, 0);
  t.true(clock.waits.length <= 1);
});
