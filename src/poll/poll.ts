import type {
  AlertEvidence,
  EventEvidence,
  Expectation,
  RunContext,
  SignalDefinition,
  SignalId,
  SignalObservation,
  CanaryObservation,
  PollSchedule,
  QueryRecord,
  SiemAlert,
  TelemetryProbe,
  TelemetryQuery,
  ProbeId,
  SiemConnector,
  SiemEvent,
} from '../core/index.js';
import { SiemError, errorMessage, localSiemPolling } from '../core/index.js';
import { namesAnotherRun } from '../signals/link.js';

export type { PollSchedule } from '../core/index.js';

/** The local SIEM's schedule; each connector declares its own (`polling` in its definition). */
export const localSchedule: PollSchedule = localSiemPolling.schedule;

export interface PollPlan {
  readonly connector: SiemConnector;
  readonly host: string;
  readonly marker: string;
  readonly bindings: Readonly<Record<string, string>>;
  /** cmstp's own run on the target clock, padded: the window `window`-correlated signals must fall in. */
  readonly processWindow: { readonly since: Date; readonly until: Date };
  /** Event-time window start: the emulation start, padded for clock skew. */
  readonly since: Date;
  /** Event-time window end: clean-up's start, after which events are clean-up's own; null when unknown. */
  readonly evidenceUntil: Date | null;
  readonly signals: readonly {
    readonly definition: SignalDefinition;
    readonly expectation: Expectation;
    /**
     * Preflight found the host's sensors cannot record this signal. It is looked for in every query, but
     * never waited for: the wait ends when the other signals (and the canary) are settled.
     */
    readonly blind?: boolean;
  }[];
  /** The pipeline canary the host wrote before the run, looked for in the same queries; null if none. */
  readonly canary: TelemetryProbe | null;
  readonly captureTimeoutMs: number;
  readonly detectTimeoutMs: number;
  readonly schedule: PollSchedule;
  /** How progress lines name this poll (`scenario on host`); the host name when absent. */
  readonly label?: string;
}

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(1);

/** How often a wait says what it is still waiting for. */
const heartbeatMs = 10_000;

/**
 * How far past "now" a query's window reaches while the evidence window is still open: a host whose clock
 * runs ahead stamps its events in our future, and they are still this run's.
 */
const lookAheadMs = 120_000;

/** The end of a query's window at `nowMs`. */
const windowEnd = (nowMs: number): Date => new Date(nowMs + lookAheadMs);

const summaryFields = [
  'UtcTime',
  'Computer',
  'Image',
  'CommandLine',
  'ParentImage',
  'ParentCommandLine',
  // Security 4688's own names for the process and its parent.
  'NewProcessName',
  'ParentProcessName',
  'TargetFilename',
  'User',
  'IntegrityLevel',
  'ProcessGuid',
  'ParentProcessGuid',
] as const;

/** The fields of an event that reports show; the whole event goes to the evidence bundle. */
export function evidence(event: SiemEvent): EventEvidence {
  const summary: Record<string, string> = {};
  for (const name of summaryFields) {
    const value = event.fields[name];
    if (typeof value === 'string' || typeof value === 'number') summary[name] = String(value);
  }
  return { ref: event.ref, eventId: event.eventId, time: event.time, indexedAt: event.indexedAt, summary };
}

export function alertEvidence(alert: SiemAlert): AlertEvidence {
  return {
    ref: alert.ref,
    ruleId: alert.ruleId,
    title: alert.title,
    level: alert.level,
    time: alert.time,
    eventRefs: alert.eventRefs,
    attack: alert.attack ?? [],
  };
}

interface State {
  events: Map<string, EventEvidence>;
  alerts: Map<string, AlertEvidence>;
  rawEvents: Map<string, SiemEvent>;
  rawAlerts: Map<string, SiemAlert>;
  firstSeenAt: string | null;
  alertFirstSeenAt: string | null;
  polls: number;
  /** The SIEM refused this signal's own query (the batch was split until it was alone): not polled again. */
  refused: string | null;
  capturedLate: boolean;
  detectedLate: boolean;
  /** How many of this signal's events the last successful detections query covered (alertsAtIngest). */
  alertsCheckedFor: number;
  /** The final sweep's telemetry query, after the capture deadline, succeeded for this signal. */
  telemetrySwept: boolean;
  /** The final sweep's detections query, after the detect deadline, succeeded over all its events. */
  alertsSwept: boolean;
}

/**
 * Polls until every expectation is settled or its deadline passes, with one batched query per poll.
 * A signal expected *absent* (captured or detected false) is watched until its deadline, since absence can
 * only be shown by waiting. A final sweep runs after the deadline so nothing that arrived in time is missed.
 */
export async function pollSignals(
  plan: PollPlan,
  ctx: Pick<RunContext, 'clock' | 'sleep' | 'signal' | 'logger'>,
): Promise<PollOutcome> {
  const start = ctx.clock.now().getTime();
  let canary: EventEvidence | null = null;
  // A canary whose own query the SIEM refused is not asked for again: each poll would split the batch anew.
  let canaryRefused = false;
  const queries: QueryRecord[] = [];
  let triggered = false;
  let canarySeenAt: string | null = null;
  const captureDeadline = start + plan.captureTimeoutMs;
  // An alert can only follow its telemetry, so a signal's detect window runs from when its events were
  // first seen (or from the start, while they have not been); nothing waits past capture + detect.
  const lastDeadline = start + plan.captureTimeoutMs + plan.detectTimeoutMs;
  const detectDeadline = (id: SignalId): number =>
    Math.min(lastDeadline, (seenAt.get(id) ?? start) + plan.detectTimeoutMs);
  const seenAt = new Map<SignalId, number>();
  const states = new Map<SignalId, State>(
    plan.signals.map(({ definition }) => [
      definition.id,
      {
        events: new Map(),
        alerts: new Map(),
        rawEvents: new Map(),
        rawAlerts: new Map(),
        firstSeenAt: null,
        alertFirstSeenAt: null,
        polls: 0,
        refused: null,
        capturedLate: false,
        detectedLate: false,
        alertsCheckedFor: 0,
        telemetrySwept: false,
        alertsSwept: false,
      },
    ]),
  );
  const state = (id: SignalId): State => {
    const found = states.get(id);
    if (!found) throw new Error(`no poll state for ${id}`);
    return found;
  };

  const captureOpen = (now: number, id: SignalId, expectation: Expectation): boolean =>
    state(id).refused === null &&
    now <= captureDeadline &&
    (!expectation.captured || state(id).events.size === 0);
  // An alert that must not fire is proven absent only by waiting, unless the SIEM's rules run at ingest.
  const absenceProven = (id: SignalId): boolean =>
    plan.connector.alertsAtIngest === true && state(id).alertsCheckedFor === state(id).events.size;
  const detectOpen = (now: number, id: SignalId, expectation: Expectation): boolean =>
    expectation.detected !== undefined &&
    state(id).refused === null &&
    state(id).events.size > 0 &&
    now <= detectDeadline(id) &&
    (expectation.detected ? !hasAlert(id, expectation) : !absenceProven(id));
  const hasAlert = (id: SignalId, expectation: Expectation): boolean =>
    [...state(id).alerts.values()].some(
      (a) => expectation.rule === undefined || a.ruleId === expectation.rule,
    );

  // A blind signal with nothing seen is not waited for; once its events arrive, preflight was wrong and it is.
  const blindIds = new Set(plan.signals.filter((s) => s.blind === true).map((s) => s.definition.id));
  const awaited = (id: SignalId): boolean => !blindIds.has(id) || state(id).events.size > 0;
  // The canary is still waited for (to its capture deadline) while a blind signal is unseen: without it, the
  // blind signal's silence could be a broken pipeline rather than a blind sensor.
  const canaryPending = (now: number): boolean =>
    plan.canary !== null && canary === null && !canaryRefused && now <= captureDeadline;
  let stoppedEarly = false;

  // Settled positively: everything expected was seen, so a later error or interrupt changes nothing.
  const settled = (id: SignalId, expectation: Expectation): boolean =>
    expectation.captured &&
    state(id).events.size > 0 &&
    (expectation.detected === undefined || (expectation.detected && hasAlert(id, expectation)));

  // Written from inside pollOnce, so kept in an object rather than narrowed locals.
  const failure: { fatal: string | null; last: string | null; retryAfterMs: number } = {
    fatal: null,
    last: null,
    retryAfterMs: 0,
  };

  const pollOnce = async (final: boolean): Promise<void> => {
    const now = ctx.clock.now();
    const nowMs = now.getTime();
    const telemetry = plan.signals.filter(
      ({ definition, expectation }) =>
        (final && state(definition.id).refused === null) ||
        captureOpen(nowMs, definition.id, expectation) ||
        detectOpen(nowMs, definition.id, expectation),
    );
    if (telemetry.length === 0) return;
    const probes: TelemetryProbe[] = telemetry.map((s) => s.definition);
    if (plan.canary !== null && canary === null && !canaryRefused) probes.push(plan.canary);
    const query = {
      host: plan.host,
      marker: plan.marker,
      bindings: plan.bindings,
      processWindow: plan.processWindow,
      since: plan.since,
      until: plan.evidenceUntil ?? windowEnd(nowMs),
      signals: probes,
    };
    const log = (
      kind: QueryRecord['kind'],
      text: string | null,
      hits: number,
      error: string | null,
    ): void => {
      queries.push({
        kind,
        at: now.toISOString(),
        durationMs: ctx.clock.now().getTime() - nowMs,
        probes: probes.map((p) => p.id),
        hits,
        text,
        error,
      });
    };
    let stage: QueryRecord['kind'] = 'telemetry';
    try {
      const { found, refused } = await findIsolating(plan.connector, query, ctx.signal);
      for (const [id, why] of refused) {
        if (id === plan.canary?.id) canaryRefused = true;
        const owner = plan.signals.find(({ definition }) => definition.id === id);
        if (owner) state(owner.definition.id).refused = `the SIEM refused this signal's query: ${why}`;
        ctx.logger.warn(`SIEM refused the query for ${id} (the other signals are still polled): ${why}`);
      }
      log(
        'telemetry',
        plan.connector.queryText(query),
        [...found.values()].flat().length,
        refused.size === 0 ? null : [...refused].map(([id, why]) => `refused for ${id}: ${why}`).join('\n'),
      );
      stage = 'detections';
      const canaryEvent = plan.canary === null ? undefined : found.get(plan.canary.id)?.[0];
      if (canary === null && canaryEvent !== undefined) {
        canary = evidence(canaryEvent);
        canarySeenAt = now.toISOString();
      }
      for (const { definition } of telemetry) {
        const s = state(definition.id);
        if (s.refused !== null) continue;
        s.polls += 1;
        // Absence is only ever shown by a query that succeeded after the deadline: the final sweep.
        if (final) s.telemetrySwept = true;
        for (const event of found.get(definition.id) ?? []) {
          if (namesAnotherRun(event, plan.marker)) continue;
          if (!s.events.has(event.ref)) {
            s.events.set(event.ref, evidence(event));
            s.rawEvents.set(event.ref, event);
          }
          if (s.firstSeenAt === null) {
            s.firstSeenAt = now.toISOString();
            seenAt.set(definition.id, nowMs);
            // Seen first by the sweep after the deadline: it did arrive, but not in time. (A sweep that ends
            // a wait cut short for a blind signal comes before the deadline: nothing there is late.)
            s.capturedLate = final && nowMs > captureDeadline;
          }
        }
      }
      const refs = telemetry.flatMap(({ definition, expectation }) =>
        expectation.detected === undefined ? [] : [...state(definition.id).events.keys()],
      );
      // Once the telemetry is there, a SIEM that can run its rules on demand is asked to, once it succeeds:
      // a failed dispatch (503) ends this poll before the alert search, so "the rules found nothing" is only
      // ever read from a search after a dispatch that succeeded; the next poll dispatches again.
      if (refs.length > 0 && !triggered && plan.connector.triggerRules) {
        stage = 'trigger';
        const started = await plan.connector.triggerRules(
          { host: plan.host, since: plan.since, until: windowEnd(nowMs), eventRefs: refs },
          ctx.signal,
        );
        triggered = true;
        log('trigger', started.join('\n'), started.length, null);
        stage = 'detections';
      }
      if (refs.length > 0) {
        const detectionQuery = {
          host: plan.host,
          since: plan.since,
          until: windowEnd(nowMs),
          eventRefs: refs,
          marker: plan.marker,
        };
        const alerts = await plan.connector.findDetections(detectionQuery, ctx.signal);
        log('detections', plan.connector.detectionText?.(detectionQuery) ?? null, alerts.length, null);
        for (const { definition, expectation } of telemetry) {
          const s = state(definition.id);
          // This query asked about every event the signal has so far.
          if (expectation.detected !== undefined && s.events.size > 0) {
            s.alertsCheckedFor = s.events.size;
            if (final && nowMs > detectDeadline(definition.id)) s.alertsSwept = true;
          }
          for (const alert of alerts) {
            if (!alert.eventRefs.some((ref) => s.events.has(ref))) continue;
            if (!s.alerts.has(alert.ref)) {
              s.alerts.set(alert.ref, alertEvidence(alert));
              s.rawAlerts.set(alert.ref, alert);
            }
            if (s.alertFirstSeenAt === null) {
              s.alertFirstSeenAt = now.toISOString();
              s.detectedLate = final && nowMs > detectDeadline(definition.id);
            }
          }
        }
      }
      failure.last = null;
    } catch (error) {
      const text = errorMessage(error);
      log(stage, stage === 'telemetry' ? plan.connector.queryText(query) : null, 0, text);
      // A query cut short by Ctrl-C failed because of the interrupt, which the verdicts already say.
      if (ctx.signal.aborted) return;
      if (error instanceof SiemError && error.retryable) {
        failure.last = `SIEM query failed: ${text}`;
        failure.retryAfterMs = error.retryAfterMs ?? 0;
        ctx.logger.warn(`SIEM poll failed, will retry: ${text}`);
      } else {
        failure.fatal = `SIEM query failed: ${text}`;
      }
    }
  };

  // An interrupt ends the wait early; what was seen so far is kept, and unsettled signals say so.
  const pause = async (ms: number): Promise<boolean> => {
    try {
      await ctx.sleep(ms, ctx.signal);
      return true;
    } catch (error) {
      if (ctx.signal.aborted) return false;
      throw error;
    }
  };

  // A wait that speaks: each signal once it is seen, and every 10 s what is still awaited and for how long.
  const label = plan.label ?? plan.host;
  const announced = new Set<SignalId>();
  let lastHeartbeat = start;
  if (blindIds.size > 0)
    ctx.logger.info(
      `${label}: not waiting for ${[...blindIds].join(', ')}: preflight found the host's sensors cannot record ${blindIds.size === 1 ? 'it' : 'them'} (still looked for in every query)`,
    );
  const speak = (now: number): void => {
    for (const { definition, expectation } of plan.signals) {
      if (announced.has(definition.id) || !settled(definition.id, expectation)) continue;
      announced.add(definition.id);
      ctx.logger.info(
        `${label}: ${definition.id} seen${expectation.detected === true ? ' and alerted on' : ''} (${seconds(now - start)} s into the wait)`,
      );
    }
    // On a terminal the wait is a line counting down in place; elsewhere a heartbeat line every 10 s.
    if (ctx.logger.status === undefined && now - lastHeartbeat < heartbeatMs) return;
    lastHeartbeat = now;
    const pending = plan.signals.flatMap(({ definition, expectation }) => {
      const id = definition.id;
      if (!awaited(id)) return [];
      if (captureOpen(now, id, expectation))
        return [`${id} (${expectation.captured ? 'its telemetry' : 'no telemetry, until the deadline'})`];
      if (detectOpen(now, id, expectation))
        return [`${id} (${expectation.detected === true ? 'an alert' : 'no alert, until the deadline'})`];
      return [];
    });
    if (ctx.logger.status !== undefined)
      ctx.logger.status(
        label,
        pending.length === 0 ? null : { pending: pending.join(', '), leftMs: lastDeadline - now },
      );
    else if (pending.length > 0)
      ctx.logger.info(
        `${label}: waiting for ${pending.join(', ')}; at most ${seconds(lastDeadline - now)} s left`,
      );
  };

  try {
    let interval = plan.schedule.intervalMs;
    for (let go = await pause(plan.schedule.initialDelayMs); go;) {
      await pollOnce(false);
      speak(ctx.clock.now().getTime());
      if (failure.fatal !== null || ctx.signal.aborted) break;
      const now = ctx.clock.now().getTime();
      const open = (id: SignalId, expectation: Expectation): boolean =>
        captureOpen(now, id, expectation) || detectOpen(now, id, expectation);
      const waiting = plan.signals.some(
        ({ definition, expectation }) => awaited(definition.id) && open(definition.id, expectation),
      );
      const blindOpen = plan.signals.some(
        ({ definition, expectation }) => !awaited(definition.id) && open(definition.id, expectation),
      );
      if (!waiting && !(blindOpen && canaryPending(now))) {
        stoppedEarly = blindOpen;
        break;
      }
      // A SIEM that asked us to back off (Retry-After) is given at least that long, deadlines permitting.
      const wait = Math.min(
        Math.max(interval * (1 + (Math.random() * 2 - 1) * plan.schedule.jitter), failure.retryAfterMs),
        Math.max(0, lastDeadline - now) + 1,
      );
      failure.retryAfterMs = 0;
      go = await pause(Math.max(1, Math.round(wait)));
      interval = Math.min(interval * 2, plan.schedule.maxIntervalMs);
    }
    if (failure.fatal === null && !ctx.signal.aborted) {
      // Late data is still evidence: look once more after a grace period, and label what is new as late.
      const unsettled = plan.signals.some(
        ({ definition, expectation }) => !settled(definition.id, expectation),
      );
      if (!unsettled || (await pause(plan.schedule.finalSweepDelayMs))) await pollOnce(true);
    }
  } finally {
    ctx.logger.status?.(label, null);
  }

  const error =
    failure.fatal ??
    failure.last ??
    (ctx.signal.aborted ? 'polling was interrupted before the deadline' : null);
  const observations = new Map(
    plan.signals.map(({ definition: { id }, expectation }) => [
      id,
      {
        signal: id,
        events: [...state(id).events.values()],
        alerts: [...state(id).alerts.values()],
        firstSeenAt: state(id).firstSeenAt,
        alertFirstSeenAt: state(id).alertFirstSeenAt,
        polls: state(id).polls,
        error: settled(id, expectation) ? null : (state(id).refused ?? error),
        capturedLate: state(id).capturedLate,
        detectedLate: state(id).detectedLate,
        notAwaited: stoppedEarly && state(id).events.size === 0 && blindIds.has(id),
        absence: {
          // No event: proven only by the sweep after the capture deadline, and never after an interrupt.
          telemetry: state(id).events.size === 0 && state(id).telemetrySwept && !ctx.signal.aborted,
          // No alert: proven at ingest over every event (local SIEM), or by the sweep after the deadline.
          alerts:
            state(id).events.size > 0 && (absenceProven(id) || state(id).alertsSwept) && !ctx.signal.aborted,
        },
        raw: { events: [...state(id).rawEvents.values()], alerts: [...state(id).rawAlerts.values()] },
      },
    ]),
  );
  return {
    signals: observations,
    canary: plan.canary === null ? null : { event: canary, seenAt: canarySeenAt },
    queries,
  };
}

/** A query the SIEM refused as written (HTTP 400, a FATAL search error): retrying it as is cannot help. */
const isRefusal = (error: unknown): boolean =>
  error instanceof SiemError && error.code === 'E_SIEM_QUERY' && !error.retryable;

/**
 * One batched query; when the SIEM refuses it, the batch is split in halves and retried until each refusal
 * names a single probe, so one bad clause never blinds the other signals of the poll. When every probe is
 * refused on its own, the query as a whole is wrong: the first refusal is thrown as before.
 */
export async function findIsolating(
  connector: SiemConnector,
  query: TelemetryQuery,
  signal: AbortSignal,
): Promise<{ found: Map<ProbeId, readonly SiemEvent[]>; refused: Map<ProbeId, string> }> {
  const found = new Map<ProbeId, readonly SiemEvent[]>();
  const refused = new Map<ProbeId, string>();
  let first: unknown = null;
  const search = async (probes: readonly TelemetryProbe[]): Promise<void> => {
    try {
      for (const [id, events] of await connector.findTelemetry({ ...query, signals: probes }, signal))
        found.set(id, events);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      const [only] = probes;
      if (probes.length === 1 && only !== undefined) {
        first ??= error;
        refused.set(only.id, errorMessage(error));
        return;
      }
      const half = Math.ceil(probes.length / 2);
      await search(probes.slice(0, half));
      await search(probes.slice(half));
    }
  };
  await search(query.signals);
  if (refused.size > 0 && refused.size === query.signals.length) throw first;
  return { found, refused };
}

export interface PollOutcome {
  readonly signals: ReadonlyMap<SignalId, SignalObservation>;
  /** null when no canary was written; `event` null when it was written but never seen. */
  readonly canary: CanaryObservation | null;
  /** Every query sent, in order: the evidence of how the verdicts were reached. */
  readonly queries: readonly QueryRecord[];
}

/**
 * Waits for the canary alone, before anything is staged (`--preflight strict`): proves the path from the
 * host to the SIEM first. Returns the event, or null once the deadline passes.
 */
export async function awaitCanary(
  plan: Pick<PollPlan, 'connector' | 'host' | 'marker' | 'bindings' | 'since' | 'schedule'> & {
    readonly canary: TelemetryProbe;
    readonly timeoutMs: number;
  },
  ctx: Pick<RunContext, 'clock' | 'sleep' | 'signal'>,
): Promise<EventEvidence | null> {
  const deadline = ctx.clock.now().getTime() + plan.timeoutMs;
  let interval = plan.schedule.intervalMs;
  await ctx.sleep(plan.schedule.initialDelayMs, ctx.signal);
  for (;;) {
    const nowMs = ctx.clock.now().getTime();
    const window = { since: plan.since, until: windowEnd(nowMs) };
    const found = await plan.connector.findTelemetry(
      {
        host: plan.host,
        marker: plan.marker,
        bindings: plan.bindings,
        processWindow: window,
        ...window,
        signals: [plan.canary],
      },
      ctx.signal,
    );
    const event = found.get(plan.canary.id)?.[0];
    if (event !== undefined) return evidence(event);
    if (nowMs >= deadline) return null;
    await ctx.sleep(Math.max(1, Math.min(interval, deadline - nowMs)), ctx.signal);
    interval = Math.min(interval * 2, plan.schedule.maxIntervalMs);
  }
}
