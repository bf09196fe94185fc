import test from 'ava';
import { seededRandom } from '../helpers/random.js';
import XMLBuilder from 'fast-xml-builder';
import Handlebars from 'handlebars';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/load.js';
import { redact } from '../../src/util/redact.js';
import type {
  ExecSession,
  Executor,
  HostTarget,
  LoadedScenario,
  OperationResult,
  RemoteOperation,
  RunResult,
  SiemAlert,
  SiemConnector,
  SiemEvent,
  SignalId,
  TelemetryQuery,
  Verdict,
} from '../../src/core/index.js';
import { SiemError, ValidationError, silentLogger } from '../../src/core/index.js';
import { exitCodeForRun } from '../../src/cli/exit-codes.js';
import { sensorProfiles } from '../../src/lab/sensor-profiles.js';
import { mergeRuns } from '../../src/pipeline/merge.js';
import { notRunPairs, summarizeRun, type HarnessRun } from '../../src/pipeline/run-harness.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { runHarnessOrThrow } from '../helpers/lab.js';

/*
 * The ground-truth fault fuzzer (#14). Each case draws a lab (faults on the host, what its sensors record,
 * when each signal's events and alerts reach the SIEM), a SIEM (faults per query kind, on-demand rules) and
 * an operator (stop file, Ctrl-C, a crashed shard and a merge). The real pipeline (runHarness: execute, poll,
 * assert, status) runs against an in-process executor and SIEM that play the case out on a virtual clock.
 * An oracle written from the rules in the issue and the docs, not from src/assert, says what each signal's
 * verdict, the run's status and the exit code must be; every disagreement is reported with its case.
 */

const cases = 1200;
const seed = 20261204;

// ------------------------------------------------------------------ the case

type Arrival = 'on-time' | 'late' | 'never';
type AlertFate = 'on-time' | 'late' | 'never' | 'stale' | 'unrelated';
type QueryFault = 'none' | 'transient' | 'persistent' | 'fatal';

interface SignalTruth {
  readonly signal: SignalId;
  readonly captured: boolean;
  readonly detected: boolean | undefined;
  /** When the signal's event reaches the SIEM, if the lab produces and ships it. */
  readonly arrival: Arrival;
  readonly alert: AlertFate;
}

interface Case {
  readonly id: number;
  readonly signals: readonly SignalTruth[];
  readonly hosts: readonly { readonly name: string; readonly computer: string }[];
  readonly lab: {
    readonly sessionDrop: boolean;
    readonly cmstpHang: boolean;
    readonly cleanupFails: boolean;
    readonly forwarderDown: boolean;
    /** A signal whose event type the host's Sysmon does not record. */
    readonly blind: SignalId | null;
  };
  readonly siem: {
    readonly telemetry: QueryFault;
    readonly detections: QueryFault;
    readonly dispatch: 'absent' | 'ok' | 'once' | 'always';
  };
  readonly operator: { readonly stop: 'none' | 'before' | 'mid'; readonly interrupt: boolean };
  /** Run as two shards of a two-host plan, the second crashing, then merged. */
  readonly shardCrash: boolean;
}

const random = seededRandom;

const signalPool = [
  'cmstp-exec',
  'payload-file',
  'child-process',
  'profile-registry',
  'scriptlet-load',
  'remote-fetch',
] as const satisfies readonly SignalId[];
/** The Sysmon event type each signal's events come from, for a blind sensor (sensor-profiles, Sysmon docs). */
const sysmonType: Partial<Record<SignalId, string>> = {
  'payload-file': 'FileCreate',
  'scriptlet-load': 'ImageLoad',
  'profile-registry': 'RegistryEvent',
};

function drawCase(id: number, next: () => number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const chance = (p: number): boolean => next() < p;
  const chosen = signalPool.filter(() => chance(0.55));
  const signals = (chosen.length > 0 ? chosen : [pick(signalPool)]).map((signal): SignalTruth => {
    const captured = chance(0.8);
    return {
      signal,
      captured,
      detected: captured ? pick([true, true, false, undefined]) : undefined,
      arrival: pick(['on-time', 'on-time', 'on-time', 'late', 'never']),
      alert: pick(['on-time', 'on-time', 'late', 'never', 'stale', 'unrelated']),
    };
  });
  const clone = chance(0.08);
  const two = clone || chance(0.2);
  return {
    id,
    signals,
    hosts: two
      ? [
          { name: 'LAB-A', computer: 'LAB-A' },
          { name: 'LAB-B', computer: clone ? 'LAB-A' : 'LAB-B' },
        ]
      : [{ name: 'LAB-A', computer: 'LAB-A' }],
    lab: {
      sessionDrop: chance(0.06),
      cmstpHang: chance(0.06),
      cleanupFails: chance(0.06),
      forwarderDown: chance(0.06),
      blind: chance(0.1) ? pick(['payload-file', 'scriptlet-load', 'profile-registry'] as const) : null,
    },
    siem: {
      telemetry: pick(['none', 'none', 'none', 'transient', 'persistent', 'fatal']),
      detections: pick(['none', 'none', 'none', 'transient', 'persistent', 'fatal']),
      dispatch: pick(['absent', 'absent', 'ok', 'once', 'always']),
    },
    operator: { stop: pick(['none', 'none', 'none', 'none', 'before', 'mid']), interrupt: chance(0.06) },
    shardCrash: !two && chance(0.05),
  };
}

// ------------------------------------------------------------------ the world the pipeline meets

const start = Date.parse('2026-12-04T02:00:00Z');
const captureMs = 10_000;
const detectMs = 10_000;
/** After every deadline (capture + detect, 20 s), before the final sweep (30 s after polling ends). */
const lateAfterMs = 25_000;

interface World {
  now: number;
  readonly controller: AbortController;
  readonly events: { event: SiemEvent; marker: string; signal: string; at: number }[];
  readonly alerts: { alert: SiemAlert; at: number }[];
  stopChecks: number;
}

const frame = (name: string, value: unknown, exitCode: number | null = 0): OperationResult => ({
  operation: name,
  exitCode,
  stdout: '',
  stderr: '',
  durationMs: 1,
  timedOut: false,
  frame: value,
});

const markerOf = (op: RemoteOperation): string => /ph[a-z0-9]{12}/.exec(op.script)?.[0] ?? 'phunknown00000';

/** What the lab host does for each remote operation, as the case says. */
function fakeExecutor(c: Case, world: World): Executor {
  /** The SIEM's rules on a shipped event: on time, late, never, or only stale and unrelated alerts. */
  const alertOn = (truth: SignalTruth, ref: string, computer: string, shippedAt: number): void => {
    const base = {
      ruleId: 'rule',
      title: `alert on ${truth.signal}`,
      level: 'high',
      host: computer,
      time: '',
    };
    if (truth.alert === 'on-time' || truth.alert === 'late')
      world.alerts.push({
        alert: { ...base, ref: `alert:${ref}`, eventRefs: [ref] },
        at: truth.alert === 'late' ? Math.max(shippedAt, world.now + lateAfterMs) : shippedAt,
      });
    // An earlier run's alert on the same kind of event, and one on an event that is not this signal's.
    if (truth.alert === 'stale')
      world.alerts.push({
        alert: { ...base, ref: `stale:${ref}`, eventRefs: [ref.replace(/ph[a-z0-9]{12}/, 'phearlierrun00')] },
        at: 0,
      });
    if (truth.alert === 'unrelated')
      world.alerts.push({
        alert: { ...base, ref: `other:${ref}`, eventRefs: [ref.replace(/[^:]+$/, 'pipeline-canary')] },
        at: world.now,
      });
  };
  const emit = (computer: string, marker: string, signal: string, delayMs: number | null): void => {
    if (delayMs === null || c.lab.forwarderDown) return;
    const ref = `${computer}:${marker}:${signal}`;
    world.events.push({
      marker,
      signal,
      at: world.now + delayMs,
      event: {
        ref,
        time: new Date(world.now).toISOString(),
        indexedAt: null,
        host: computer,
        eventId: 1,
        fields: {},
      },
    });
    const truth = c.signals.find((s) => s.signal === signal);
    if (truth !== undefined) alertOn(truth, ref, computer, world.now + delayMs);
  };
  const shipped = (truth: SignalTruth): number | null =>
    truth.arrival === 'never' || truth.signal === c.lab.blind
      ? null
      : truth.arrival === 'late'
        ? lateAfterMs
        : 0;
  return {
    open: (host: HostTarget) => {
      const computer = c.hosts.find((h) => h.name === host.name)?.computer ?? host.name;
      let marker = 'phunknown00000';
      // The staged INF's hash: run-cmstp reports it back, as a real host would.
      let payloadSha256 = '';
      const session: ExecSession = {
        hostKeySha256: host.hostKeySha256 ?? '',
        upload: (_path, content) => {
          payloadSha256 = createHash('sha256').update(content).digest('hex');
          // Writing the INF is what payload-file records.
          const truth = c.signals.find((s) => s.signal === 'payload-file');
          if (truth) emit(computer, marker, 'payload-file', shipped(truth));
          return Promise.resolve();
        },
        run: (op) => {
          marker = markerOf(op);
          const iso = new Date(world.now).toISOString();
          switch (op.name) {
            case 'secure-folder':
              return Promise.resolve(
                frame(op.name, {
                  ok: true,
                  workingFolder: { path: 'C:\\ProgramData\\purple-harness', sddl: '', changed: false },
                }),
              );
            case 'lock-host':
              return Promise.resolve(frame(op.name, { ok: true, acquired: true, holder: null }));
            case 'unlock-host':
              return Promise.resolve(frame(op.name, { ok: true, released: true }));
            case 'preflight':
              return Promise.resolve(
                frame(op.name, {
                  ok: true,
                  hostname: computer,
                  user: `${computer}\\lab`,
                  integrityLevel: 'High',
                  os: 'Windows',
                  powershell: '5.1',
                  sshServer: '9.5',
                  cmstpPresent: true,
                  sensors: {
                    sysmonRunning: true,
                    // The embedded lab's full sensor, less the event type the case made it blind to.
                    sysmonEventTypes: sensorProfiles.full.sysmonEventTypes.filter(
                      (type) => c.lab.blind === null || type !== sysmonType[c.lab.blind],
                    ),
                    security4688: true,
                    security4688CommandLine: true,
                    forwarders: ['fake'],
                    freeDiskBytes: 1e10,
                    utcNow: iso,
                  },
                }),
              );
            case 'canary':
              emit(computer, marker, 'pipeline-canary', 0);
              return Promise.resolve(frame(op.name, { ok: true, writtenUtc: iso }));
            case 'snapshot':
              return Promise.resolve(
                frame(op.name, { ok: true, items: c.lab.cleanupFails ? [`dir:${marker}`] : [] }),
              );
            case 'run-cmstp': {
              if (c.lab.sessionDrop) return Promise.reject(new Error('the SSH connection dropped'));
              for (const truth of c.signals)
                if (truth.signal !== 'payload-file' && !(c.lab.cmstpHang && truth.signal === 'child-process'))
                  emit(computer, marker, truth.signal, shipped(truth));
              return Promise.resolve(
                frame(op.name, {
                  ok: true,
                  pid: 4242,
                  exitCode: c.lab.cmstpHang ? null : 0,
                  timedOut: c.lab.cmstpHang,
                  startUtc: iso,
                  endUtc: new Date(world.now + 100).toISOString(),
                  payloadSha256,
                  markerFound: !c.lab.cmstpHang,
                  markerProcesses: [],
                }),
              );
            }
            case 'uninstall-profile':
              return Promise.resolve(frame(op.name, { ok: true, startUtc: iso, uninstall: null }));
            case 'cleanup':
              return Promise.resolve(
                frame(op.name, { ok: !c.lab.cleanupFails, startUtc: iso, removed: [], errors: [] }),
              );
            default:
              return Promise.reject(new Error(`fake lab: no operation ${op.name}`));
          }
        },
        close: () => Promise.resolve(),
      };
      return Promise.resolve(session);
    },
  };
}

/** A SIEM holding what the lab shipped, failing its queries as the case says. */
function fakeSiem(c: Case, world: World): SiemConnector {
  const fails = (fault: QueryFault, count: number): SiemError | null => {
    if (fault === 'fatal') return new SiemError('E_SIEM_AUTH', 'HTTP 403: forbidden');
    if (fault === 'persistent' || (fault === 'transient' && count === 1))
      return new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503: unavailable', { retryable: true });
    return null;
  };
  let telemetryQueries = 0;
  let detectionQueries = 0;
  let dispatches = 0;
  const connector: SiemConnector = {
    id: 'fake',
    describe: () => 'the fuzzer SIEM',
    queryText: () => 'fake',
    ingestEndpoint: () => null,
    dispose: () => Promise.resolve(),
    findTelemetry: (query: TelemetryQuery) => {
      telemetryQueries += 1;
      const failure = fails(c.siem.telemetry, telemetryQueries);
      if (failure) return Promise.reject(failure);
      const found = new Map<SignalId, SiemEvent[]>();
      for (const probe of query.signals) {
        const events = world.events
          .filter((e) => e.marker === query.marker && e.signal === probe.id && e.at <= world.now)
          .filter((e) => e.event.host === query.host)
          .map((e) => e.event);
        found.set(probe.id as SignalId, events);
      }
      return Promise.resolve(found);
    },
    findDetections: (query) => {
      detectionQueries += 1;
      const failure = fails(c.siem.detections, detectionQueries);
      if (failure) return Promise.reject(failure);
      // Everything the SIEM holds for the host; the harness must keep only alerts on its own events.
      return Promise.resolve(
        world.alerts.filter((a) => a.at <= world.now && a.alert.host === query.host).map((a) => a.alert),
      );
    },
  };
  if (c.siem.dispatch === 'absent') return connector;
  return {
    ...connector,
    triggerRules: () => {
      dispatches += 1;
      return c.siem.dispatch === 'always' || (c.siem.dispatch === 'once' && dispatches === 1)
        ? Promise.reject(new SiemError('E_SIEM_UNAVAILABLE', 'HTTP 503 on dispatch', { retryable: true }))
        : Promise.resolve(['dispatched']);
    },
  };
}

const [loaded] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
if (loaded === undefined) throw new Error('built-in scenario missing');
const template: LoadedScenario = loaded;

function scenarioOf(c: Case): LoadedScenario {
  return {
    ...template,
    spec: {
      ...template.spec,
      expect: c.signals.map((s) => ({
        signal: s.signal,
        captured: s.captured,
        ...(s.detected === undefined ? {} : { detected: s.detected }),
      })),
    },
  };
}

async function play(
  c: Case,
  hosts: readonly HostTarget[],
  shard: NonNullable<HarnessRun['shard']> | null,
): Promise<RunResult> {
  const world: World = {
    now: start,
    controller: new AbortController(),
    events: [],
    alerts: [],
    stopChecks: 0,
  };
  const clock = { now: () => new Date(world.now) };
  return runHarnessOrThrow(
    {
      scenarios: [scenarioOf(c)],
      hosts,
      executor: fakeExecutor(c, world),
      siem: fakeSiem(c, world),
      lab: 'simulated',
      schedule: {
        initialDelayMs: 500,
        intervalMs: 1000,
        maxIntervalMs: 1000,
        jitter: 0,
        finalSweepDelayMs: 30_000,
      },
      deadlines: { captureTimeoutMs: captureMs, detectTimeoutMs: detectMs },
      version: 'fuzz',
      concurrency: 1,
      shard,
      // The stop file: there from the start, or created once the first scenario has begun its steps.
      shouldStop: () => {
        world.stopChecks += 1;
        // Checked before the pair, then before secure-folder, lock, preflight, canary, snapshot and cmstp: the
        // 7th stops cmstp.
        return c.operator.stop === 'before' || (c.operator.stop === 'mid' && world.stopChecks >= 7);
      },
    },
    {
      runId: `fuzz-${String(c.id)}`,
      clock,
      logger: silentLogger,
      signal: world.controller.signal,
      secrets: new Set(),
      sleep: (ms: number) => {
        // Ctrl-C lands as the first scenario that polls starts waiting for its SIEM.
        if (c.operator.interrupt) world.controller.abort();
        if (world.controller.signal.aborted) return Promise.reject(new Error('aborted'));
        world.now += ms;
        return Promise.resolve();
      },
    },
  );
}

// ------------------------------------------------------------------ the oracle

/** What the emulation must have reached for each signal to exist at all (docs/scenarios.md, signal table). */
const needs: Record<(typeof signalPool)[number], 'staged' | 'started' | 'payload-ran'> = {
  'cmstp-exec': 'started',
  'payload-file': 'staged',
  'child-process': 'payload-ran',
  'profile-registry': 'started',
  'scriptlet-load': 'started',
  'remote-fetch': 'started',
};

interface Expected {
  readonly verdicts: ReadonlyMap<string, Verdict>;
  readonly status: RunResult['status'];
  readonly exit: number;
}

/**
 * The rules, stated from the outside: a verdict needs an observation. Presence is seen when an event (alert)
 * reached the SIEM and a later query succeeded; seen only by the final sweep after the deadline, it is late.
 * Absence is observed only when a query succeeded after the deadline (no interrupt, no fatal error that
 * ended polling), over a pipeline shown live, and, for telemetry expected absent, a sensor able to see it.
 * Anything else is inconclusive. A run that did not finish its emulation never passes. A run that did not
 * run every planned pair is never passed.
 */
function oracle(c: Case, hostNames: readonly string[]): Expected {
  const verdicts = new Map<string, Verdict>();
  const statuses: string[] = [];
  let notRun = 0;
  let interrupted = false;
  const claimed = new Set<string>();
  for (const [index, name] of hostNames.entries()) {
    const host = c.hosts.find((h) => h.name === name);
    if (host === undefined) continue;
    // The stop file is checked before each pair: there from the start, or created during the first pair.
    if (c.operator.stop === 'before' || (c.operator.stop === 'mid' && index > 0) || interrupted) {
      notRun += 1;
      continue;
    }
    const refused = claimed.has(host.computer);
    claimed.add(host.computer);
    const stoppedMid = c.operator.stop === 'mid';
    // How far the emulation got: a clone stops at preflight; the stop file stops it before cmstp starts.
    const staged = !refused;
    const started = staged && !stoppedMid && !c.lab.sessionDrop;
    const payloadRan = started && !c.lab.cmstpHang;
    const executed = payloadRan;
    const reached = { staged, started, 'payload-ran': payloadRan };
    const polls = c.signals.some((s) => reached[needs[s.signal as keyof typeof needs]]);
    // Ctrl-C lands as the first pair that polls starts waiting: nothing of that pair is seen.
    const interruptedHere = c.operator.interrupt && polls;
    interrupted = interruptedHere;
    const telemetryAnswers = c.siem.telemetry === 'none' || c.siem.telemetry === 'transient';
    const alertsAnswer =
      (c.siem.detections === 'none' || c.siem.detections === 'transient') && c.siem.dispatch !== 'always';
    const produced = (signal: string): boolean =>
      signal === 'child-process' ? payloadRan : signal === 'payload-file' ? staged : started;
    const arrives = (s: SignalTruth): boolean =>
      produced(s.signal) && c.lab.blind !== s.signal && !c.lab.forwarderDown && s.arrival !== 'never';
    // A fatal answer to the alert search ends polling at once, final sweep included.
    const askedForAlertsOnTime = c.signals.some(
      (s) =>
        reached[needs[s.signal as keyof typeof needs]] &&
        s.detected !== undefined &&
        arrives(s) &&
        s.arrival === 'on-time',
    );
    // A fatal alert search ends polling (a dispatch that always fails is retried, never reaching it).
    const pollingCut =
      c.siem.detections === 'fatal' &&
      c.siem.dispatch !== 'always' &&
      askedForAlertsOnTime &&
      telemetryAnswers;
    const canarySeen = telemetryAnswers && !c.lab.forwarderDown;
    for (const s of c.signals) {
      const key = `${name}/${s.signal}`;
      const passIfDone: Verdict = executed ? 'pass' : 'inconclusive';
      const verdict = ((): Verdict => {
        if (!reached[needs[s.signal as keyof typeof needs]]) return 'inconclusive';
        if (!telemetryAnswers || interruptedHere) return 'inconclusive';
        const seenOnTime = arrives(s) && s.arrival === 'on-time';
        const seenLate = arrives(s) && s.arrival === 'late' && !pollingCut;
        const seen = seenOnTime || seenLate;
        if (!seen) {
          if (!canarySeen || pollingCut) return 'inconclusive';
          if (s.captured) return 'fail';
          return c.lab.blind === s.signal ? 'inconclusive' : passIfDone;
        }
        if (!s.captured) return 'fail';
        if (seenLate) return 'fail';
        if (s.detected === undefined) return passIfDone;
        const alertOnTime = s.alert === 'on-time';
        const alertSeen = alertsAnswer && (alertOnTime || (s.alert === 'late' && !pollingCut));
        if (alertSeen) return s.detected && alertOnTime ? passIfDone : 'fail';
        if (!alertsAnswer || pollingCut) return 'inconclusive';
        return s.detected ? 'fail' : passIfDone;
      })();
      verdicts.set(key, verdict);
    }
    const mine = c.signals.map((s) => verdicts.get(`${name}/${s.signal}`));
    const error = refused || c.lab.sessionDrop || stoppedMid;
    statuses.push(
      c.lab.cleanupFails && !refused
        ? 'cleanup-failed'
        : error
          ? 'error'
          : mine.includes('fail')
            ? 'failed'
            : mine.includes('inconclusive')
              ? 'inconclusive'
              : 'passed',
    );
  }
  const status: RunResult['status'] = interrupted
    ? 'interrupted'
    : statuses.includes('cleanup-failed')
      ? 'cleanup-failed'
      : statuses.includes('error')
        ? 'error'
        : notRun > 0 || statuses.length === 0
          ? 'incomplete'
          : statuses.includes('inconclusive')
            ? 'inconclusive'
            : statuses.includes('failed')
              ? 'failed'
              : 'passed';
  return { verdicts, status, exit: exitOf(status) };
}

/** docs/exit-codes.md: 0 passed, 1 a detection failed, 3 anything not judged or not clean, 130 Ctrl-C. */
function exitOf(status: RunResult['status']): number {
  return status === 'passed' ? 0 : status === 'failed' ? 1 : status === 'interrupted' ? 130 : 3;
}

// ------------------------------------------------------------------ the run

const hostTarget = (name: string, port: number): HostTarget => ({
  name,
  address: '127.0.0.1',
  port,
  username: 'lab',
  hostKeySha256: 'SHA256:fuzz',
  auth: { password: 'fuzz-password' },
  simulated: true,
});

test(`ground-truth fault fuzzer: ${String(cases)} cases, 0 false PASS and 0 verdict, status or exit-code mismatches`, async (t) => {
  t.timeout(10 * 60_000);
  const next = random(seed);
  const matrix = new Map<string, number>();
  const mismatches: string[] = [];
  let falsePass = 0;
  let signalsJudged = 0;
  for (let id = 1; id <= cases; id += 1) {
    const c = drawCase(id, next);
    const hosts = c.hosts.map((h, i) => hostTarget(h.name, 2200 + i));
    let run: RunResult;
    let expected: Expected;
    if (c.shardCrash) {
      // Two hosts, two shards: shard 1 runs LAB-A; shard 2 crashes before its pair, then the shards merge.
      const both = [hostTarget('LAB-A', 2200), hostTarget('LAB-C', 2202)];
      const withC: Case = { ...c, hosts: [...c.hosts, { name: 'LAB-C', computer: 'LAB-C' }] };
      const first = await play(withC, both, { index: 1, count: 2 });
      const crashed = summarizeRun(
        {
          lab: 'simulated',
          version: 'fuzz',
          siem: { id: 'fake', describe: () => 'fake' },
          shard: { index: 2, count: 2 },
        },
        [],
        { startedAt: first.startedAt, finishedAt: first.finishedAt },
        { runId: 'fuzz-shard-2', signal: new AbortController().signal },
        {
          crashed: true,
          notRun: notRunPairs(
            { scenarios: [scenarioOf(withC)], hosts: both, shard: { index: 2, count: 2 } },
            [],
            () => 'the shard crashed',
          ),
        },
      );
      run = mergeRuns([first, crashed], { runId: `fuzz-${String(id)}-merged`, version: 'fuzz', history: [] });
      const alone = oracle(
        withC,
        first.results.map((r) => r.host.name),
      );
      // The crashed shard makes the merged run an error, unless shard 1 itself says something graver.
      const status =
        alone.status === 'interrupted' || alone.status === 'cleanup-failed' ? alone.status : 'error';
      expected = { ...alone, status, exit: exitOf(status) };
    } else {
      run = await play(c, hosts, null);
      expected = oracle(
        c,
        c.hosts.map((h) => h.name),
      );
    }
    const actualExit = exitCodeForRun(run.status, run.regressions.length);
    const where = `case ${String(id)} ${JSON.stringify(c)}`;
    if (run.status !== expected.status)
      mismatches.push(`${where}: status ${run.status}, oracle ${expected.status}`);
    if (actualExit !== expected.exit)
      mismatches.push(`${where}: exit ${String(actualExit)}, oracle ${String(expected.exit)}`);
    const actual = new Map<string, RunResult['results'][number]['signals'][number]>(
      run.results.flatMap((r) => r.signals.map((s) => [`${r.host.name}/${s.id}`, s] as const)),
    );
    if (actual.size !== expected.verdicts.size)
      mismatches.push(
        `${where}: ${String(actual.size)} signals judged, oracle expects ${String(expected.verdicts.size)}`,
      );
    for (const [key, want] of expected.verdicts) {
      const got = actual.get(key);
      const verdict = got?.verdict ?? 'missing';
      signalsJudged += 1;
      const cell = `${want} -> ${verdict}`;
      matrix.set(cell, (matrix.get(cell) ?? 0) + 1);
      if (verdict === 'pass' && want !== 'pass') falsePass += 1;
      if (verdict !== want)
        mismatches.push(`${where}: ${key} is ${verdict} (${got?.reason ?? ''}), oracle ${want}`);
    }
  }
  const order = ['pass', 'fail', 'inconclusive'] as const;
  const lines = [
    `confusion matrix over ${String(signalsJudged)} signal verdicts in ${String(cases)} cases (rows: oracle, columns: harness)`,
    `${'oracle \\ harness'.padEnd(18)}${order.map((v) => v.padStart(14)).join('')}`,
    ...order.map(
      (want) =>
        `${want.padEnd(18)}${order.map((got) => String(matrix.get(`${want} -> ${got}`) ?? 0).padStart(14)).join('')}`,
    ),
    `false PASS: ${String(falsePass)}; mismatches (verdict, status or exit code): ${String(mismatches.length)}`,
  ];
  for (const line of lines) t.log(line);
  for (const mismatch of mismatches.slice(0, 10)) t.log(mismatch);
  t.is(falsePass, 0);
  t.is(mismatches.length, 0);
});

// ------------------------------------------------------------------ inputs: host names and escaped secrets

/** A DNS-style host name (RFC 1123 labels joined by single dots), as the oracle reads docs/config.md. */
function validHostName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name
    .split('.')
    .every(
      (label) =>
        label.length >= 1 &&
        label.length <= 63 &&
        /^[A-Za-z0-9-]+$/.test(label) &&
        !label.startsWith('-') &&
        !label.endsWith('-'),
    );
}

test('input fuzzer: 600 inventories with duplicate and odd host names are refused (exit 2) exactly when the names are not unique, valid host names', (t) => {
  const next = random(seed + 1);
  // Mostly well-formed parts, with the separators and characters that make a name invalid now and then.
  const pieces = [
    'WIN10',
    'lab',
    'LAB',
    '01',
    'x',
    'WIN10',
    'lab',
    '02',
    '-01',
    '.lab',
    '-',
    '.',
    '..',
    '/',
    '_',
    ' ',
    'ä',
    '\\\\',
  ];
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-fuzz-hosts-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  let refusedCount = 0;
  for (let i = 0; i < 600; i += 1) {
    const count = 1 + Math.floor(next() * 3);
    const names = Array.from({ length: count }, () =>
      Array.from({ length: 1 + Math.floor(next() * 3) }, (_, k) =>
        // The first part is well formed; later ones are odd one time in three.
        k > 0 && next() < 0.33
          ? (pieces[5 + Math.floor(next() * (pieces.length - 5))] ?? '')
          : (pieces[Math.floor(next() * 5)] ?? ''),
      ).join(''),
    );
    if (count > 1 && next() < 0.3) names[1] = (names[0] ?? '').toUpperCase();
    const lowered = names.map((n) => n.toLowerCase());
    const shouldRefuse = names.some((n) => !validHostName(n)) || new Set(lowered).size !== lowered.length;
    const file = join(dir, `harness-${String(i)}.yaml`);
    writeFileSync(
      file,
      `lab:\n  hosts:\n${names
        .map(
          (n, k) =>
            `    - name: ${JSON.stringify(n)}\n      address: 10.0.0.${String(k + 1)}\n      username: lab\n      passwordEnv: LAB_PASSWORD\n      lab: true\n`,
        )
        .join('')}`,
    );
    let refused = false;
    try {
      loadConfigFile(file);
    } catch (error) {
      refused = true;
      t.true(error instanceof ValidationError, String(error));
      t.regex((error as Error).message, /harness-\d+\.yaml:\d+:\d+: /);
    }
    if (refused !== shouldRefuse)
      t.fail(`${JSON.stringify(names)}: refused ${String(refused)}, oracle ${String(shouldRefuse)}`);
    if (refused) refusedCount += 1;
  }
  t.log(
    `600 inventories: ${String(refusedCount)} refused, ${String(600 - refusedCount)} accepted, 0 disagreements with the oracle`,
  );
  t.true(refusedCount >= 60 && refusedCount <= 540, 'both valid and invalid inventories were drawn');
});

test('input fuzzer: 600 secrets made of the characters outputs escape never survive, in any encoding a report can give them', (t) => {
  const next = random(seed + 2);
  const alphabet = ['"', '\\', '<', '>', '&', "'", '=', '`', '|', '%', '+', '/', ' ', ':', '\n'];
  const html = Handlebars.compile('<td title="{{v}}">{{v}}</td>');
  const xml = new XMLBuilder({ ignoreAttributes: false, format: false });
  for (let i = 0; i < 600; i += 1) {
    const core = `core${Math.floor(next() * 1e9).toString(36)}x`;
    const sprinkle = (): string =>
      Array.from(
        { length: Math.floor(next() * 4) },
        () => alphabet[Math.floor(next() * alphabet.length)] ?? '',
      ).join('');
    const secret = `${sprinkle()}${core}${sprinkle()}${next() < 0.3 ? '==' : ''}`;
    const forms = [
      JSON.stringify({ a: secret }),
      JSON.stringify({ a: JSON.stringify({ b: secret }) }),
      html({ v: secret }),
      xml.build({ e: { '@_a': secret, '#text': secret } }),
      `https://siem.lab/x?t=${encodeURIComponent(secret)}`,
      new URLSearchParams({ p: secret }).toString(),
      Buffer.from(secret).toString('base64'),
      Buffer.from(`prefix ${secret} suffix`, 'utf16le').toString('base64'),
    ];
    for (const form of forms) {
      const out = redact(form, new Set([secret]));
      if (out.includes(core)) t.fail(`secret ${JSON.stringify(secret)} survived in ${out}`);
      for (const decoded of [
        Buffer.from(out, 'base64').toString('utf8'),
        Buffer.from(out, 'base64').toString('utf16le'),
      ])
        if (decoded.includes(core)) t.fail(`secret ${JSON.stringify(secret)} survived base64 in ${out}`);
    }
  }
  t.pass();
});
