/**
 * The harness end to end, for `npm run bench` (run by bench/run.ts, one figure set per child process so
 * each has its own peak RSS). Prints one line `BENCH_RESULT <json>`.
 *   P1: the whole built-in suite x 1 simulated host, no ingest delay.
 *   P2: one scenario on 16 simulated hosts with 3 s ingest delay, against 1 host and against the same 16
 *       hosts one after another, in the same process.
 *   P3: from P2's records: time from "event searchable" (the SIEM's indexedAt) to the harness recording it,
 *       and telemetry queries per host per poll round; with the local SIEM's push (onIngest), and for a
 *       polled connector (the same SIEM with push hidden, so the poll finds events on its schedule).
 *   FLEET N: one scenario on N simulated hosts with 3 s ingest delay against 1 host: wall time, peak RSS,
 *       and SIEM queries per poll round, counted where the harness calls the SIEM; then the same N hosts
 *       against a polled connector that declares a split of 64 pairs per query; then the floor (floorRun).
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type {
  HostTarget,
  IngestEndpoint,
  LoadedScenario,
  RunResult,
  SiemConnector,
} from '../src/core/index.js';
import { createServer } from 'node:http';
import { realSleep, silentLogger, systemClock } from '../src/core/index.js';
import { SshExecutorOptions } from '../src/executors/ssh/schema.js';
import { Worker } from 'node:worker_threads';
import type { FleetHostsData, FleetHostsReply } from './fleet-hosts.js';
import { startPayloadServer } from '../src/payload-server/server.js';
import { recordOrThrow, runHarness } from '../src/pipeline/run-harness.js';
import { loadScenariosOrThrow } from '../src/scenario/load.js';
import { LocalSiemOptions } from '../src/siem/local/schema.js';
import { siemConnectors } from '../src/siem/registry.js';
import { builtinScenariosDir } from '../src/util/paths.js';
import { create as createSshExecutor } from '../src/executors/ssh/executor.js';

const ctxBase = { clock: systemClock, sleep: realSleep, logger: silentLogger, secrets: new Set<string>() };

/** Every call the harness makes to the SIEM, counted at the connector's edge. */
const calls = { telemetry: 0, detections: 0 };

/**
 * The SIEM as the run sees it, its calls counted. `polled`: as a connector with no push sees it, searched
 * on the poll's schedule only, and (with `split`) declaring that one query holds at most that many pairs.
 */
function counted(siem: SiemConnector, view: { polled: boolean; split?: number }): SiemConnector {
  const limits = siem.batchLimits;
  return {
    id: siem.id,
    ...(siem.alertsAtIngest === undefined ? {} : { alertsAtIngest: siem.alertsAtIngest }),
    describe: () => siem.describe(),
    findTelemetry: (query, signal) => {
      calls.telemetry += 1;
      return siem.findTelemetry(query, signal);
    },
    findDetections: (query, signal) => {
      calls.detections += 1;
      return siem.findDetections(query, signal);
    },
    ...(siem.findTelemetryBatch === undefined ||
    siem.findDetectionsBatch === undefined ||
    limits === undefined
      ? {}
      : {
          batchLimits:
            view.split === undefined ? limits : { maxQueries: view.split, maxProbes: view.split * 8 },
          findTelemetryBatch: (queries, signal) => {
            calls.telemetry += 1;
            return siem.findTelemetryBatch?.(queries, signal) ?? Promise.resolve([]);
          },
          findDetectionsBatch: (queries, signal) => {
            calls.detections += 1;
            return siem.findDetectionsBatch?.(queries, signal) ?? Promise.resolve([]);
          },
        }),
    ...(view.polled || siem.onIngest === undefined
      ? {}
      : { onIngest: (host, listener) => siem.onIngest?.(host, listener) ?? (() => undefined) }),
    queryText: (query) => siem.queryText(query),
    ingestEndpoint: () => siem.ingestEndpoint(),
    dispose: () => siem.dispose(),
  };
}

async function withLab<T>(
  hosts: number,
  ingestDelayMs: number,
  work: (
    run: (scenarios: readonly LoadedScenario[], concurrency: number) => Promise<RunResult>,
  ) => Promise<T>,
  view: { polled: boolean; split?: number } = { polled: false },
  lab: { sink?: IngestEndpoint; captureTimeoutMs?: number } = {},
): Promise<T> {
  const token = randomBytes(16).toString('hex');
  const siem = await (
    await siemConnectors.local.load()
  ).create(LocalSiemOptions.parse({ database: ':memory:' }), {
    ...ctxBase,
    env: { PURPLE_HARNESS_HEC_TOKEN: token },
  });
  const endpoint = siem.ingestEndpoint();
  if (endpoint === null) throw new Error('no HEC endpoint');
  const payloadServer = await startPayloadServer({
    bind: '127.0.0.1',
    port: 0,
    advertisedHost: 'payload.lab.test',
  });
  const fleet = await startFleetHosts({
    hosts,
    ingestDelayMs,
    sink: lab.sink ?? endpoint,
    dns: { 'payload.lab.test': '127.0.0.1' },
  });
  const targets = fleet.targets;
  try {
    return await work((scenarios, concurrency) =>
      runHarness(
        {
          scenarios,
          hosts: targets,
          executor: createSshExecutor(SshExecutorOptions.parse({}), { ...ctxBase, env: {} }),
          siem: counted(siem, view),
          lab: 'simulated',
          schedule: siemConnectors.local.polling.schedule,
          deadlines: {
            ...siemConnectors.local.polling,
            ...(lab.captureTimeoutMs === undefined
              ? {}
              : { captureTimeoutMs: lab.captureTimeoutMs, detectTimeoutMs: 0 }),
          },
          version: 'bench',
          payloadServer,
          concurrency,
        },
        { ...ctxBase, runId: 'bench', signal: runSignal() },
      ).then(recordOrThrow),
    );
  } finally {
    await fleet.close();
    await payloadServer.close();
    await siem.dispose();
  }
}

/** The simulated hosts, in a worker thread of their own (fleet-hosts.ts says why). */
async function startFleetHosts(
  data: FleetHostsData,
): Promise<{ targets: HostTarget[]; close: () => Promise<void> }> {
  const worker = new Worker(new URL('./fleet-hosts.js', import.meta.url), { workerData: data });
  const reply = await new Promise<FleetHostsReply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  if ('error' in reply) {
    await worker.terminate();
    throw new Error(`the simulated hosts did not start: ${reply.error}`);
  }
  return {
    targets: reply.targets,
    close: async () => {
      const closed = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}

/** A run's interrupt signal: every host in flight listens to it, hundreds of them in a fleet run. */
function runSignal(): AbortSignal {
  const { signal } = new AbortController();
  setMaxListeners(0, signal);
  return signal;
}

/**
 * SIEM queries per poll round, two ways: from the run records (each query says its round and how many
 * queries the round took), and at the SIEM's edge (every call counted, over the rounds the records name).
 */
function roundFigures(runs: readonly RunResult[], counted: { telemetry: number; detections: number }) {
  const rounds = new Map<number, number>();
  for (const q of runs.flatMap((r) => r.results.flatMap((x) => x.queries)))
    if (q.kind === 'telemetry' && q.round !== undefined)
      rounds.set(q.round.number, Math.max(rounds.get(q.round.number) ?? 0, q.round.queries));
  const pairs = runs.flatMap((r) => r.results);
  return {
    rounds: rounds.size,
    /** How many times a pair was looked at, on average: the SIEM's work grows with it, not with the rounds. */
    looksPerPair:
      pairs.length === 0
        ? null
        : pairs.reduce((n, x) => n + x.queries.filter((q) => q.kind === 'telemetry').length, 0) /
          pairs.length,
    maxTelemetryQueriesInARound: rounds.size === 0 ? null : Math.max(...rounds.values()),
    telemetryQueriesCounted: counted.telemetry,
    detectionQueriesCounted: counted.detections,
  };
}

/** One run of the P2 scenario on `hosts` hosts: wall time, status and query figures. */
async function fleetRun(hosts: number, view: { polled: boolean; split?: number } = { polled: false }) {
  const scenario = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
  return withLab(
    hosts,
    3000,
    async (run) => {
      calls.telemetry = 0;
      calls.detections = 0;
      const started = process.hrtime.bigint();
      const record = await run(scenario, hosts);
      return {
        hosts,
        seconds: seconds(started),
        status: record.status,
        pairs: record.results.length,
        ...roundFigures([record], calls),
        ...pipelineFigures([record]),
      };
    },
    view,
  );
}

/**
 * The machine's floor for a fleet run: the same hosts run the scenario, but their events go to a sink that
 * only reads each post and answers HEC's success, so no SIEM stores, rules or searches anything. The time the
 * last host's cmstp event reaches the sink is as early as any verdict could be on this machine (the pairs
 * then time out unseen: their verdicts are not the point). `cmstp` is found in a post by the image name.
 */
async function floorRun(hosts: number) {
  const token = randomBytes(16).toString('hex');
  let start = 0n;
  const cmstpArrived = new Map<string, number>();
  let lastPost = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Number(process.hrtime.bigint() - start) / 1e9;
      lastPost = Math.max(lastPost, at);
      const body = Buffer.concat(chunks).toString('utf8');
      for (const line of body.split('\n'))
        if (line.includes('\\\\cmstp.exe"') && line.includes('"EventID":1,')) {
          const host = /"host":"([^"]+)"/.exec(line)?.[1] ?? '';
          if (!cmstpArrived.has(host)) cmstpArrived.set(host, at);
        }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no sink address');
  try {
    return await withLab(
      hosts,
      3000,
      async (run) => {
        start = process.hrtime.bigint();
        const record = await run(
          loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]),
          hosts,
        );
        return {
          hosts,
          hostsWithCmstpEvent: cmstpArrived.size,
          lastCmstpEventAtSeconds: Math.max(...cmstpArrived.values()),
          lastPostAtSeconds: lastPost,
          executedPairs: record.results.filter((r) => r.execution?.status === 'executed').length,
        };
      },
      { polled: true },
      {
        sink: { protocol: 'local-hec', url: `http://127.0.0.1:${String(address.port)}`, token },
        captureTimeoutMs: 5000,
      },
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const seconds = (startedNs: bigint): number => Number(process.hrtime.bigint() - startedNs) / 1e9;

function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

/** P3 from run records: searchable -> recorded delays, and telemetry queries per poll round. */
function pipelineFigures(runs: readonly RunResult[]) {
  const delays: number[] = [];
  const intervals: number[] = [];
  const perRound: number[] = [];
  for (const result of runs.flatMap((r) => r.results)) {
    // Polling starts once the emulation and its clean-up are over; an event searchable before then is
    // "searchable" from the first poll on. What is measured is how soon the poll notices.
    const pollStart = Date.parse(result.queries.find((q) => q.kind === 'telemetry')?.at ?? '');
    for (const signal of result.signals) {
      const searchable = signal.observed.events
        .map((e) => Date.parse(e.indexedAt ?? ''))
        .filter(Number.isFinite);
      const recorded = Date.parse(signal.observed.firstSeenAt ?? '');
      if (searchable.length > 0 && Number.isFinite(recorded) && Number.isFinite(pollStart))
        delays.push(Math.max(0, recorded - Math.max(Math.min(...searchable), pollStart)));
      // The poll interval in effect when it was found: the gap to the query before (backoff grows it).
      const times = result.queries.filter((q) => q.kind === 'telemetry').map((q) => Date.parse(q.at));
      const at = times.indexOf(recorded);
      const before = at > 0 ? times[at - 1] : undefined;
      if (before !== undefined) intervals.push(recorded - before);
    }
    // A poll round is one moment the poll asked; it should send one telemetry query for all signals.
    const telemetry = result.queries.filter((q) => q.kind === 'telemetry');
    const rounds = new Set(telemetry.map((q) => q.at)).size;
    if (rounds > 0) perRound.push(telemetry.length / rounds);
  }
  return {
    searchableToRecordedMs: {
      median: quantile(delays, 0.5),
      p95: quantile(delays, 0.95),
      samples: delays.length,
      pollIntervalInEffectMedian: quantile(intervals, 0.5),
    },
    telemetryQueriesPerHostPerRound: perRound.length === 0 ? null : Math.max(...perRound),
  };
}

const which = process.argv[2];
const all = loadScenariosOrThrow([builtinScenariosDir()]);
let result: Record<string, unknown>;
// A cmstp run without /s waits for its confirmation dialog until the execute deadline, by design: that wait
// is the scenario's, not the harness's, so P1 times the others and names the ones it left out.
const waitsByDesign = (s: LoadedScenario): boolean =>
  s.spec.emulation.cmstp !== undefined && !s.spec.emulation.cmstp.flags.includes('/s');
if (which === 'P1') {
  const timed = all.filter((s) => !waitsByDesign(s));
  result = await withLab(1, 0, async (run) => {
    await run(timed.slice(0, 1), 1); // warm-up: JIT, SQLite, SSH handshake code paths
    const started = process.hrtime.bigint();
    const record = await run(timed, 1);
    const total = seconds(started);
    return {
      scenarios: timed.length,
      leftOut: all.filter(waitsByDesign).map((s) => s.spec.id),
      status: record.status,
      totalSeconds: total,
      perScenarioHostMs: (total * 1000) / timed.length,
    };
  });
} else if (which === 'P2') {
  const scenario = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
  const one = await withLab(1, 3000, async (run) => {
    const started = process.hrtime.bigint();
    const record = await run(scenario, 1);
    return { seconds: seconds(started), record };
  });
  const sixteen = await withLab(16, 3000, async (run) => {
    calls.telemetry = 0;
    calls.detections = 0;
    const started = process.hrtime.bigint();
    const parallel = await run(scenario, 16);
    const parallelSeconds = seconds(started);
    const rounds = roundFigures([parallel], calls);
    const startedSeq = process.hrtime.bigint();
    const sequential = await run(scenario, 1);
    return { parallelSeconds, parallel, rounds, sequentialSeconds: seconds(startedSeq), sequential };
  });
  const polled = await withLab(16, 3000, (run) => run(scenario, 16), { polled: true });
  result = {
    ingestDelayMs: 3000,
    oneHostSeconds: one.seconds,
    sixteenHostsSeconds: sixteen.parallelSeconds,
    sixteenHostsSequentialSeconds: sixteen.sequentialSeconds,
    ratioSixteenToOne: sixteen.parallelSeconds / one.seconds,
    speedupOverSequential: sixteen.sequentialSeconds / sixteen.parallelSeconds,
    statuses: [one.record.status, sixteen.parallel.status, sixteen.sequential.status],
    ...pipelineFigures([one.record, sixteen.parallel, sixteen.sequential]),
    polled: pipelineFigures([polled]),
    sixteenHostsRounds: sixteen.rounds,
  };
} else if (which === 'FLEET') {
  const hosts = Number(process.argv[3]);
  const one = await fleetRun(1);
  const fleet = await fleetRun(hosts);
  const polled = await fleetRun(hosts, { polled: true, split: 64 });
  const floor = await floorRun(hosts);
  result = {
    ingestDelayMs: 3000,
    one,
    fleet,
    polled,
    floor,
    ratioToOne: fleet.seconds / one.seconds,
    floorRatioToOne: floor.lastCmstpEventAtSeconds / one.seconds,
  };
} else {
  throw new Error('usage: harness-bench.js P1|P2|FLEET <hosts>');
}
console.log(
  `BENCH_RESULT ${JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 })}`,
);
