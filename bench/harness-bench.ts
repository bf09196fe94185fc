/**
 * The harness end to end, for `npm run bench` (run by bench/run.ts, one figure set per child process so
 * each has its own peak RSS). Prints one line `BENCH_RESULT <json>`.
 *   P1: the whole built-in suite x 1 simulated host, no ingest delay.
 *   P2: one scenario on 16 simulated hosts with 3 s ingest delay, against 1 host and against the same 16
 *       hosts one after another, in the same process.
 *   P3: from P2's records: time from "event searchable" (the SIEM's indexedAt) to the harness recording it,
 *       and telemetry queries per host per poll round; with the local SIEM's push (onIngest), and for a
 *       polled connector (the same SIEM with push hidden, so the poll finds events on its schedule).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { HostTarget, LoadedScenario, RunResult, SiemConnector } from '../src/core/index.js';
import { realSleep, silentLogger, systemClock } from '../src/core/index.js';
import { SshExecutorOptions } from '../src/executors/ssh/schema.js';
import { simulatorTarget, startLabSimulator, type LabSimulator } from '../src/lab/simulator.js';
import { startPayloadServer } from '../src/payload-server/server.js';
import { recordOrThrow, runHarness } from '../src/pipeline/run-harness.js';
import { loadScenariosOrThrow } from '../src/scenario/load.js';
import { LocalSiemOptions } from '../src/siem/local/schema.js';
import { siemConnectors } from '../src/siem/registry.js';
import { builtinScenariosDir } from '../src/util/paths.js';
import { create as createSshExecutor } from '../src/executors/ssh/executor.js';

const ctxBase = { clock: systemClock, sleep: realSleep, logger: silentLogger, secrets: new Set<string>() };

/** The local SIEM as a connector with no push sees it: searched on the poll's schedule only. */
function polledView(siem: SiemConnector): SiemConnector {
  return {
    id: siem.id,
    ...(siem.alertsAtIngest === undefined ? {} : { alertsAtIngest: siem.alertsAtIngest }),
    describe: () => siem.describe(),
    findTelemetry: (query, signal) => siem.findTelemetry(query, signal),
    findDetections: (query, signal) => siem.findDetections(query, signal),
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
  push = true,
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
  const labs: LabSimulator[] = [];
  const targets: HostTarget[] = [];
  for (let i = 0; i < hosts; i += 1) {
    const password = randomBytes(12).toString('hex');
    const computer = `WIN10-LAB-${String(i + 1).padStart(2, '0')}`;
    const lab = await startLabSimulator({
      password,
      sink: endpoint,
      computer: `${computer}.lab.local`,
      dns: { 'payload.lab.test': '127.0.0.1' },
      ingestDelayMs,
    });
    labs.push(lab);
    targets.push(simulatorTarget(lab, password, computer));
  }
  try {
    return await work((scenarios, concurrency) =>
      runHarness(
        {
          scenarios,
          hosts: targets,
          executor: createSshExecutor(SshExecutorOptions.parse({}), { ...ctxBase, env: {} }),
          siem: push ? siem : polledView(siem),
          lab: 'simulated',
          schedule: siemConnectors.local.polling.schedule,
          deadlines: siemConnectors.local.polling,
          version: 'bench',
          payloadServer,
          concurrency,
        },
        { ...ctxBase, runId: 'bench', signal: new AbortController().signal },
      ).then(recordOrThrow),
    );
  } finally {
    for (const lab of labs) await lab.close();
    await payloadServer.close();
    await siem.dispose();
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
    const started = process.hrtime.bigint();
    const parallel = await run(scenario, 16);
    const parallelSeconds = seconds(started);
    const startedSeq = process.hrtime.bigint();
    const sequential = await run(scenario, 1);
    return { parallelSeconds, parallel, sequentialSeconds: seconds(startedSeq), sequential };
  });
  const polled = await withLab(16, 3000, (run) => run(scenario, 16), false);
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
  };
} else {
  throw new Error('usage: harness-bench.js P1|P2');
}
console.log(
  `BENCH_RESULT ${JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 })}`,
);
