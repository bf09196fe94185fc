import test from 'ava';
import type {
  BatchLimits,
  IngestNotice,
  ProbeId,
  SiemConnector,
  SiemEvent,
  TelemetryQuery,
} from '../core/index.js';
import { silentLogger, SiemError } from '../core/index.js';
import { signalCatalog } from '../signals/catalog.js';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import type { PollPlan } from './poll.js';
import { packed, RunPoller } from './run-poller.js';

const at = '2026-11-23T12:00:00.000Z';

/** A cmstp event for `host`'s run `marker`, once the SIEM "has" it. */
const cmstp = (host: string, marker: string): SiemEvent => ({
  ref: `${host}:${marker}`,
  time: at,
  indexedAt: null,
  host,
  eventId: 1,
  fields: { Image: 'C:\\Windows\\System32\\cmstp.exe', CommandLine: `cmstp.exe /s ${marker}.inf` },
});

/**
 * A SIEM that answers per host from what it holds, counting every query: with `limits`, it has batch calls;
 * `refuses` makes any query (alone or batched) naming that host a refusal, as a 400 would be.
 */
function fleetSiem(options: { limits?: BatchLimits; refuses?: string; failBatches?: number } = {}) {
  const held = new Map<string, SiemEvent[]>();
  const calls = { alone: 0, batches: [] as number[], detections: 0 };
  let failures = options.failBatches ?? 0;
  const answer = (query: TelemetryQuery): Map<ProbeId, SiemEvent[]> => {
    if (query.host === options.refuses)
      throw new SiemError('E_SIEM_QUERY', `[siem:fleet] refused: ${query.host}`, { retryable: false });
    const events = (held.get(query.host) ?? []).filter((e) => e.ref.endsWith(query.marker));
    return new Map(events.length === 0 ? [] : [['cmstp-exec', events]]);
  };
  const connector: SiemConnector = {
    id: 'fleet',
    describe: () => 'fleet',
    queryText: (query) => `search host=${query.host}`,
    findTelemetry: (query) => {
      calls.alone += 1;
      return Promise.resolve().then(() => answer(query));
    },
    findDetections: () => {
      calls.detections += 1;
      return Promise.resolve([]);
    },
    ingestEndpoint: () => null,
    dispose: () => Promise.resolve(),
    ...(options.limits === undefined
      ? {}
      : {
          batchLimits: options.limits,
          findTelemetryBatch: (queries: readonly TelemetryQuery[]) => {
            calls.batches.push(queries.length);
            if (failures > 0) {
              failures -= 1;
              return Promise.reject(new SiemError('E_SIEM_UNAVAILABLE', '[siem:fleet] 503'));
            }
            return Promise.resolve().then(() => queries.map(answer));
          },
          findDetectionsBatch: (queries) => Promise.resolve(queries.map(() => [])),
        }),
  };
  return { connector, held, calls };
}

function planFor(connector: SiemConnector, host: string): PollPlan {
  const marker = `ph${host}`;
  return {
    connector,
    host,
    marker,
    bindings: { marker },
    processWindow: { since: new Date('2026-11-23T11:59:59Z'), until: new Date('2026-11-23T12:00:05Z') },
    since: new Date('2026-11-23T11:55:00Z'),
    evidenceUntil: null,
    canary: null,
    signals: [
      { definition: signalCatalog['cmstp-exec'], expectation: { signal: 'cmstp-exec', captured: true } },
    ],
    captureTimeoutMs: 10_000,
    detectTimeoutMs: 1_000,
    schedule: {
      initialDelayMs: 1000,
      intervalMs: 1000,
      maxIntervalMs: 4000,
      jitter: 0,
      finalSweepDelayMs: 500,
    },
  };
}

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `WIN-${String(i + 1)}`);

/** Watches every host's pair on one poller; the events of all hosts are in the SIEM from the start. */
async function pollFleet(siem: ReturnType<typeof fleetSiem>, names: readonly string[]) {
  for (const host of names) siem.held.set(host, [cmstp(host, `ph${host}`)]);
  const clock = fakeClock();
  const poller = new RunPoller({ ...clock, signal: new AbortController().signal, logger: silentLogger });
  const outcomes = await Promise.all(names.map((host) => poller.watch(planFor(siem.connector, host))));
  return { outcomes, poller };
}

test('#20 a round asks once for every pair due: 40 hosts, one batched query per round, each pair given its own events', async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 100, maxProbes: 1000 } });
  const names = hosts(40);

  const { outcomes, poller } = await pollFleet(siem, names);

  t.is(siem.calls.alone, 0);
  t.deepEqual(siem.calls.batches, Array<number>(poller.rounds).fill(40));
  outcomes.forEach((outcome, i) => {
    const events = outcome.signals.get('cmstp-exec')?.events ?? [];
    t.deepEqual(
      events.map((e) => e.ref),
      [`${names[i] ?? ''}:ph${names[i] ?? ''}`],
    );
    for (const q of outcome.queries.filter((q) => q.kind === 'telemetry'))
      t.deepEqual([q.round?.pairs, q.round?.queries], [40, 1]);
  });
});

test('#20 a round is split only to fit the declared limits: 5 pairs at 2 per query take 3 queries', async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 2, maxProbes: 1000 } });

  const { outcomes, poller } = await pollFleet(siem, hosts(5));

  // Two batches of two, and the fifth pair, alone in its part, asked as a single query.
  t.deepEqual(siem.calls.batches, Array.from({ length: poller.rounds }, () => [2, 2]).flat());
  t.is(siem.calls.alone, poller.rounds);
  t.is(outcomes[0]?.queries[0]?.round?.queries, 3);
  t.true(outcomes.every((o) => o.signals.get('cmstp-exec')?.events.length === 1));
});

test('#20 packing: the probe limit splits too, and a pair over it alone goes alone', (t) => {
  const weights = [3, 3, 3, 9, 1];
  t.deepEqual(
    packed(weights, { maxQueries: 10, maxProbes: 6 }, (w) => w),
    [[0, 1], [2], [3], [4]],
  );
});

test('#20 one refused pair is isolated by halving the batch; the others are answered and it alone is refused', async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 100, maxProbes: 1000 }, refuses: 'WIN-3' });

  const { outcomes } = await pollFleet(siem, hosts(4));

  // [1,2,3,4] refused -> [1,2] answered, [3,4] refused -> 3 alone (findTelemetry, refused), 4 alone.
  t.deepEqual(siem.calls.batches.slice(0, 3), [4, 2, 2]);
  t.is(outcomes[2]?.signals.get('cmstp-exec')?.events.length, 0);
  t.regex(outcomes[2]?.signals.get('cmstp-exec')?.error ?? '', /refused/);
  for (const i of [0, 1, 3]) t.is(outcomes[i]?.signals.get('cmstp-exec')?.events.length, 1);
});

test('#20 a batch that fails (503) fails every pair in it for that round; the next round retries them', async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 100, maxProbes: 1000 }, failBatches: 1 });

  const { outcomes } = await pollFleet(siem, hosts(3));

  t.true(siem.calls.batches.length >= 2);
  for (const outcome of outcomes) {
    const observed = outcome.signals.get('cmstp-exec');
    t.is(observed?.events.length, 1);
    t.is(observed?.error, null);
    t.regex(outcome.queries[0]?.error ?? '', /503/);
  }
});

test('#20 a SIEM with no batch call is asked per pair, in the same rounds', async (t) => {
  const siem = fleetSiem();

  const { outcomes, poller } = await pollFleet(siem, hosts(3));

  t.is(siem.calls.alone, poller.rounds * 3);
  t.is(outcomes[0]?.queries[0]?.round?.queries, 3);
  t.true(outcomes.every((o) => o.signals.get('cmstp-exec')?.events.length === 1));
});

test('#20 pairs that join later share the rounds of those already polling, each on its own deadlines', async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 100, maxProbes: 1000 } });
  const clock = fakeClock();
  const poller = new RunPoller({ ...clock, signal: new AbortController().signal, logger: silentLogger });
  siem.held.set('WIN-1', [cmstp('WIN-1', 'phWIN-1')]);
  // WIN-2's events never come: it is watched to its capture deadline while WIN-1 finishes early.
  const first = poller.watch(planFor(siem.connector, 'WIN-2'));
  await clock.sleep(0);
  const second = poller.watch(planFor(siem.connector, 'WIN-1'));

  const late = await first;
  const early = await second;

  t.is(early.signals.get('cmstp-exec')?.events.length, 1);
  t.is(late.signals.get('cmstp-exec')?.events.length, 0);
  t.is(late.signals.get('cmstp-exec')?.absence?.telemetry, true);
  // WIN-1's looks went out in WIN-2's rounds, one query for both; WIN-2 went on alone once WIN-1 was done.
  t.true(early.queries.some((q) => q.round?.pairs === 2 && q.round.queries === 1));
  t.true(late.queries.some((q) => q.round?.pairs === 1));
  t.true(siem.calls.batches.every((n) => n === 2));
});

test('#20 a pair watched as the last one finishes, or after the rounds stopped, is polled: no pair is left waiting', async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 100, maxProbes: 1000 } });
  for (const host of ['WIN-1', 'WIN-2', 'WIN-3']) siem.held.set(host, [cmstp(host, `ph${host}`)]);
  const clock = fakeClock();
  const poller = new RunPoller({ ...clock, signal: new AbortController().signal, logger: silentLogger });
  const idle = (): Promise<void> =>
    new Promise((resolve) => {
      setImmediate(resolve);
    });

  // WIN-2 is watched from WIN-1's outcome callback, while the rounds wind down; WIN-3 once they have stopped.
  const third = poller
    .watch(planFor(siem.connector, 'WIN-1'))
    .then(() => poller.watch(planFor(siem.connector, 'WIN-2')))
    .then(async () => {
      await idle();
      return poller.watch(planFor(siem.connector, 'WIN-3'));
    });
  const hung = new Promise<'hung'>((resolve) =>
    setTimeout(() => {
      resolve('hung');
    }, 2000).unref(),
  );
  const outcome = await Promise.race([third, hung]);

  t.not(outcome, 'hung');
  t.is(outcome === 'hung' ? undefined : outcome.signals.get('cmstp-exec')?.events.length, 1);
});

test("#20 push: events stored while a round's query is out bring the pair's next look to at once, and that look is its own round: pairs due later by schedule are not pulled into it", async (t) => {
  const siem = fleetSiem({ limits: { maxQueries: 100, maxProbes: 1000 } });
  const listeners = new Map<string, (arrived: IngestNotice) => void>();
  const stamped = { earliest: new Date(at), latest: new Date(at) };
  let batches = 0;
  const connector: SiemConnector = {
    ...siem.connector,
    onIngest: (host, listener) => {
      listeners.set(host, listener);
      return () => listeners.delete(host);
    },
    // WIN-1's event lands just after the first round's query ran, and the SIEM says so.
    findTelemetryBatch: async (queries, signal) => {
      const answers = (await siem.connector.findTelemetryBatch?.(queries, signal)) ?? [];
      batches += 1;
      if (batches === 1) {
        siem.held.set('WIN-1', [cmstp('WIN-1', 'phWIN-1')]);
        listeners.get('WIN-1')?.(stamped);
      }
      return answers;
    },
  };
  const clock = fakeClock();
  const poller = new RunPoller({ ...clock, signal: new AbortController().signal, logger: silentLogger });
  const [pushed, scheduled] = await Promise.all([
    poller.watch(planFor(connector, 'WIN-1')),
    poller.watch(planFor(connector, 'WIN-2')),
  ]);

  // With push the first looks come at once (12:00:00), the two pairs' in one batch; the push during it brought
  // WIN-1's next look to 5 ms later, alone, and it found its event there.
  const looks = (o: typeof pushed) =>
    o.queries.filter((q) => q.kind === 'telemetry').map((q) => [q.at, q.round?.pairs]);
  t.deepEqual(looks(scheduled)[0], ['2026-11-23T12:00:00.000Z', 2]);
  t.is(pushed.signals.get('cmstp-exec')?.firstSeenAt, '2026-11-23T12:00:00.005Z');
  t.true(looks(pushed).some(([when, pairs]) => when === '2026-11-23T12:00:00.005Z' && pairs === 1));
  // WIN-2, due later by its schedule, was not looked at with WIN-1's pushed look.
  t.false(looks(scheduled).some(([when]) => when === '2026-11-23T12:00:00.005Z'));
  t.is(scheduled.signals.get('cmstp-exec')?.events.length, 0);
});
