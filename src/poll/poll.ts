import type {
  AlertEvidence,
  DetectionQuery,
  EventEvidence,
  Expectation,
  IngestNotice,
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
  TimeWindow,
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
  readonly processWindow: TimeWindow;
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

/**
 * How long a look waits after the SIEM says a host's events arrived: a forwarder posts a burst in several
 * requests milliseconds apart, and hosts of a fleet push at once; one round then takes them all.
 */
export const pushSettleMs = 5;

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

export type PollContext = Pick<RunContext, 'clock' | 'sleep' | 'signal' | 'logger'>;
type Planned = PollPlan['signals'][number];

/** One pair's question in a poll round, and whether every part of it was answered. */
export interface Ask {
  readonly poll: Poll;
  readonly telemetry: readonly Planned[];
  readonly query: TelemetryQuery;
  /** The final sweep, after the deadlines: what it finds first is late, and what it misses is absent. */
  readonly final: boolean;
  /** The round's start (harness clock): when the pair asked. */
  readonly at: Date;
  ok: boolean;
}

/** What the SIEM answered to one pair's telemetry question: events per probe, and probes it refused alone. */
export interface TelemetryAnswer {
  readonly found: ReadonlyMap<ProbeId, readonly SiemEvent[]>;
  readonly refused: ReadonlyMap<ProbeId, string>;
}

/** The round a query went out in, as the evidence records it. */
export type RoundRecord = NonNullable<QueryRecord['round']>;

const newState = (): State => ({
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
});

/**
 * One pair's poll: what each signal has shown so far, the deadlines, every query sent, and when it next wants
 * a look. The run's poller (run-poller.ts) asks the SIEM for every pair due in one round.
 */
export class Poll {
  readonly plan: PollPlan;
  readonly ctx: PollContext;
  readonly start: number;
  readonly captureDeadline: number;
  /**
   * An alert can only follow its telemetry, so a signal's detect window runs from when its events were first
   * seen (or from the start, while they have not been); nothing waits past capture + detect.
   */
  readonly lastDeadline: number;
  readonly states: Map<SignalId, State>;
  readonly seenAt = new Map<SignalId, number>();
  readonly queries: QueryRecord[] = [];
  /** A blind signal with nothing seen is not waited for; once its events arrive, preflight was wrong and it is. */
  readonly blindIds: Set<SignalId>;
  readonly label: string;
  readonly announced = new Set<SignalId>();
  canary: EventEvidence | null = null;
  canarySeenAt: string | null = null;
  /** A canary whose own query the SIEM refused is not asked for again: each poll would split the batch anew. */
  canaryRefused = false;
  triggered = false;
  stoppedEarly = false;
  lastHeartbeat: number;
  /** `polling` until nothing is open, then `sweep` (the final look, after its grace period), then `done`. */
  phase: 'polling' | 'sweep' | 'done' = 'polling';
  /** When the pair next wants a look (harness clock, ms). */
  dueAt: number;
  /** Its poll interval now: the schedule's, doubled after each look up to its maximum. */
  interval: number;
  /** Its next look was brought forward by a push, not set by its schedule. */
  woken = false;
  /** A round it asked in is under way (from `ask` to `advance`). */
  inRound = false;
  /** The SIEM pushed while that round was under way: what arrived may have missed the round's query. */
  pushedInRound = false;
  failure: { fatal: string | null; last: string | null; retryAfterMs: number } = {
    fatal: null,
    last: null,
    retryAfterMs: 0,
  };

  constructor(plan: PollPlan, ctx: PollContext) {
    this.plan = plan;
    this.ctx = ctx;
    this.start = ctx.clock.now().getTime();
    this.captureDeadline = this.start + plan.captureTimeoutMs;
    this.lastDeadline = this.start + plan.captureTimeoutMs + plan.detectTimeoutMs;
    this.states = new Map(plan.signals.map(({ definition }) => [definition.id, newState()]));
    this.blindIds = new Set(plan.signals.filter((s) => s.blind === true).map((s) => s.definition.id));
    this.label = plan.label ?? plan.host;
    this.lastHeartbeat = this.start;
    // With push, the first look is at once: what arrived before the poll began was never pushed to it (the
    // clean-up's own later events, which are, cannot wake it), and what arrives later will be.
    this.dueAt = this.start + (plan.connector.onIngest === undefined ? plan.schedule.initialDelayMs : 0);
    this.interval = plan.schedule.intervalMs;
  }

  state(id: SignalId): State {
    const found = this.states.get(id);
    if (!found) throw new Error(`no poll state for ${id}`);
    return found;
  }

  detectDeadline(id: SignalId): number {
    return Math.min(this.lastDeadline, (this.seenAt.get(id) ?? this.start) + this.plan.detectTimeoutMs);
  }

  captureOpen(now: number, id: SignalId, expectation: Expectation): boolean {
    const s = this.state(id);
    return (
      s.refused === null && now <= this.captureDeadline && (!expectation.captured || s.events.size === 0)
    );
  }

  /** An alert that must not fire is proven absent only by waiting, unless the SIEM's rules run at ingest. */
  absenceProven(id: SignalId): boolean {
    const s = this.state(id);
    return this.plan.connector.alertsAtIngest === true && s.alertsCheckedFor === s.events.size;
  }

  hasAlert(id: SignalId, expectation: Expectation): boolean {
    return [...this.state(id).alerts.values()].some(
      (a) => expectation.rule === undefined || a.ruleId === expectation.rule,
    );
  }

  detectOpen(now: number, id: SignalId, expectation: Expectation): boolean {
    const s = this.state(id);
    return (
      expectation.detected !== undefined &&
      s.refused === null &&
      s.events.size > 0 &&
      now <= this.detectDeadline(id) &&
      (expectation.detected ? !this.hasAlert(id, expectation) : !this.absenceProven(id))
    );
  }

  open(now: number, { definition, expectation }: Planned): boolean {
    return (
      this.captureOpen(now, definition.id, expectation) || this.detectOpen(now, definition.id, expectation)
    );
  }

  awaited(id: SignalId): boolean {
    return !this.blindIds.has(id) || this.state(id).events.size > 0;
  }

  /**
   * The canary is still waited for (to its capture deadline) while a blind signal is unseen: without it, the
   * blind signal's silence could be a broken pipeline rather than a blind sensor.
   */
  canaryPending(now: number): boolean {
    return (
      this.plan.canary !== null && this.canary === null && !this.canaryRefused && now <= this.captureDeadline
    );
  }

  /** Settled positively: everything expected was seen, so a later error or interrupt changes nothing. */
  settled(id: SignalId, expectation: Expectation): boolean {
    const s = this.state(id);
    return (
      expectation.captured &&
      s.events.size > 0 &&
      (expectation.detected === undefined || (expectation.detected && this.hasAlert(id, expectation)))
    );
  }

  /** The telemetry query of one poll: every open signal (every unrefused one in the final sweep), and the canary. */
  telemetryQuery(telemetry: readonly Planned[], nowMs: number): TelemetryQuery {
    const probes: TelemetryProbe[] = telemetry.map((s) => s.definition);
    if (this.plan.canary !== null && this.canary === null && !this.canaryRefused)
      probes.push(this.plan.canary);
    const { plan } = this;
    return {
      host: plan.host,
      marker: plan.marker,
      bindings: plan.bindings,
      processWindow: plan.processWindow,
      since: plan.since,
      until: plan.evidenceUntil ?? windowEnd(nowMs),
      signals: probes,
    };
  }

  log(
    kind: QueryRecord['kind'],
    query: TelemetryQuery,
    at: Date,
    text: string | null,
    hits: number,
    error: string | null,
    round?: RoundRecord,
  ): void {
    this.queries.push({
      kind,
      at: at.toISOString(),
      durationMs: this.ctx.clock.now().getTime() - at.getTime(),
      probes: query.signals.map((p) => p.id),
      hits,
      text,
      error,
      ...(round === undefined ? {} : { round }),
    });
  }

  /** A signal the SIEM refused on its own is not polled again; the others still are. */
  markRefused(refused: ReadonlyMap<ProbeId, string>): void {
    for (const [id, why] of refused) {
      if (id === this.plan.canary?.id) this.canaryRefused = true;
      const owner = this.plan.signals.find(({ definition }) => definition.id === id);
      if (owner) this.state(owner.definition.id).refused = `the SIEM refused this signal's query: ${why}`;
      this.ctx.logger.warn(`SIEM refused the query for ${id} (the other signals are still polled): ${why}`);
    }
  }

  /** Keeps each new event of this run (never one naming another run), and when each signal was first seen. */
  recordEvents(
    telemetry: readonly Planned[],
    found: ReadonlyMap<ProbeId, readonly SiemEvent[]>,
    now: Date,
    final: boolean,
  ): void {
    const nowMs = now.getTime();
    const canaryEvent = this.plan.canary === null ? undefined : found.get(this.plan.canary.id)?.[0];
    if (this.canary === null && canaryEvent !== undefined) {
      this.canary = evidence(canaryEvent);
      this.canarySeenAt = now.toISOString();
    }
    for (const { definition } of telemetry) {
      const s = this.state(definition.id);
      if (s.refused !== null) continue;
      s.polls += 1;
      // Absence is only ever shown by a query that succeeded after the deadline: the final sweep.
      if (final) s.telemetrySwept = true;
      for (const event of found.get(definition.id) ?? []) {
        if (namesAnotherRun(event, this.plan.marker)) continue;
        if (!s.events.has(event.ref)) {
          s.events.set(event.ref, evidence(event));
          s.rawEvents.set(event.ref, event);
        }
        if (s.firstSeenAt === null) {
          s.firstSeenAt = now.toISOString();
          this.seenAt.set(definition.id, nowMs);
          // Seen first by the sweep after the deadline: it did arrive, but not in time. (A sweep that ends
          // a wait cut short for a blind signal comes before the deadline: nothing there is late.)
          s.capturedLate = final && nowMs > this.captureDeadline;
        }
      }
    }
  }

  /** Keeps each alert on a signal's events, and notes which events the search covered. */
  recordAlerts(telemetry: readonly Planned[], alerts: readonly SiemAlert[], now: Date, final: boolean): void {
    const nowMs = now.getTime();
    for (const { definition, expectation } of telemetry) {
      const s = this.state(definition.id);
      // This query asked about every event the signal has so far.
      if (expectation.detected !== undefined && s.events.size > 0) {
        s.alertsCheckedFor = s.events.size;
        if (final && nowMs > this.detectDeadline(definition.id)) s.alertsSwept = true;
      }
      for (const alert of alerts) {
        if (!alert.eventRefs.some((ref) => s.events.has(ref))) continue;
        if (!s.alerts.has(alert.ref)) {
          s.alerts.set(alert.ref, alertEvidence(alert));
          s.rawAlerts.set(alert.ref, alert);
        }
        if (s.alertFirstSeenAt === null) {
          s.alertFirstSeenAt = now.toISOString();
          s.detectedLate = final && nowMs > this.detectDeadline(definition.id);
        }
      }
    }
  }

  /**
   * This round's telemetry question for the pair: every open signal (every unrefused one in the final
   * sweep) and the canary; null when nothing is open.
   */
  ask(now: Date): Ask | null {
    this.inRound = true;
    const final = this.phase === 'sweep';
    const nowMs = now.getTime();
    const telemetry = this.plan.signals.filter(
      (planned) => (final && this.state(planned.definition.id).refused === null) || this.open(nowMs, planned),
    );
    if (telemetry.length === 0) return null;
    return { poll: this, telemetry, query: this.telemetryQuery(telemetry, nowMs), final, at: now, ok: true };
  }

  /** The round's answer to the pair's telemetry question: refusals noted, the query logged, events kept. */
  answered(ask: Ask, answer: TelemetryAnswer, round: RoundRecord): void {
    this.markRefused(answer.refused);
    this.log(
      'telemetry',
      ask.query,
      ask.at,
      this.plan.connector.queryText(ask.query),
      [...answer.found.values()].flat().length,
      answer.refused.size === 0
        ? null
        : [...answer.refused].map(([id, why]) => `refused for ${id}: ${why}`).join('\n'),
      round,
    );
    this.recordEvents(ask.telemetry, answer.found, ask.at, ask.final);
  }

  /** The alert search for the pair's signals that have events (those with an alert expectation); null if none. */
  detectionQuery(ask: Ask): DetectionQuery | null {
    const { plan } = this;
    const refs = ask.telemetry.flatMap(({ definition, expectation }) =>
      expectation.detected === undefined ? [] : [...this.state(definition.id).events.keys()],
    );
    if (refs.length === 0) return null;
    return {
      host: plan.host,
      since: plan.since,
      until: windowEnd(ask.at.getTime()),
      eventRefs: refs,
      marker: plan.marker,
    };
  }

  /**
   * Once the telemetry is there, a SIEM that can run its rules on demand is asked to, once it succeeds: a
   * failed dispatch (503) leaves this round's alert search out, so "the rules found nothing" is only ever
   * read from a search after a dispatch that succeeded; the next round dispatches again.
   */
  async trigger(ask: Ask, query: DetectionQuery): Promise<void> {
    const { connector } = this.plan;
    if (this.triggered || !connector.triggerRules) return;
    const started = await connector.triggerRules(query, this.ctx.signal);
    this.triggered = true;
    this.log('trigger', ask.query, ask.at, started.join('\n'), started.length, null);
  }

  /** The round's answer to the pair's alert search. */
  alertsAnswered(ask: Ask, query: DetectionQuery, alerts: readonly SiemAlert[], round: RoundRecord): void {
    const text = this.plan.connector.detectionText?.(query) ?? null;
    this.log('detections', ask.query, ask.at, text, alerts.length, null, round);
    this.recordAlerts(ask.telemetry, alerts, ask.at, ask.final);
  }

  /** A failed query: retryable ones are tried again at the next round; any other ends the pair's poll. */
  failed(error: unknown, stage: QueryRecord['kind'], ask: Ask): void {
    ask.ok = false;
    const text = errorMessage(error);
    const { query, at } = ask;
    this.log(stage, query, at, stage === 'telemetry' ? this.plan.connector.queryText(query) : null, 0, text);
    // A query cut short by Ctrl-C failed because of the interrupt, which the verdicts already say.
    if (this.ctx.signal.aborted) return;
    if (error instanceof SiemError && error.retryable) {
      this.failure.last = `SIEM query failed: ${text}`;
      this.failure.retryAfterMs = Math.max(this.failure.retryAfterMs, error.retryAfterMs ?? 0);
      this.ctx.logger.warn(`SIEM poll failed, will retry: ${text}`);
    } else {
      this.failure.fatal = `SIEM query failed: ${text}`;
    }
  }

  /** Everything the pair asked this round was answered: an earlier retryable failure no longer stands. */
  succeeded(ask: Ask | null): void {
    // A round the pair asked nothing in proves nothing about the SIEM: an earlier failure still stands.
    if (ask?.ok === true) this.failure.last = null;
  }

  /**
   * After a round the pair took part in: what it saw is said, then its next look is set by its own backoff
   * and jitter (a SIEM that asked us to back off, Retry-After, is given at least that long, deadlines
   * permitting), or, once nothing is open, the final sweep after its grace period (late data is still
   * evidence), or it is done: after the sweep, a fatal error or an interrupt.
   */
  advance(now: number): void {
    this.woken = false;
    this.inRound = false;
    this.#schedule(now);
    if (this.pushedInRound && this.phase === 'polling' && this.dueAt > now + pushSettleMs) {
      this.dueAt = now + pushSettleMs;
      this.woken = true;
    }
    this.pushedInRound = false;
  }

  /** Sets the next look by the pair's own schedule, or its sweep, or ends it (see advance). */
  #schedule(now: number): void {
    const { plan, ctx } = this;
    this.speak(now);
    if (this.phase === 'sweep' || this.failure.fatal !== null || ctx.signal.aborted) {
      this.phase = 'done';
      return;
    }
    if (!this.keepWaiting(now)) {
      const unsettled = plan.signals.some(
        ({ definition, expectation }) => !this.settled(definition.id, expectation),
      );
      // With everything settled the sweep looks at once: it may still add events of a settled signal.
      this.phase = 'sweep';
      this.dueAt = now + (unsettled ? plan.schedule.finalSweepDelayMs : 0);
      return;
    }
    const wait = Math.min(
      Math.max(
        this.interval * (1 + (Math.random() * 2 - 1) * plan.schedule.jitter),
        this.failure.retryAfterMs,
      ),
      Math.max(0, this.lastDeadline - now) + 1,
    );
    this.failure.retryAfterMs = 0;
    this.dueAt = now + Math.max(1, Math.round(wait));
    this.interval = Math.min(this.interval * 2, plan.schedule.maxIntervalMs);
  }

  /**
   * The SIEM says the host's events arrived (`onIngest`, capability `push`): the next look comes now (after
   * `pushSettleMs`), not at the next interval, unless they cannot be in its answers (couldMatter); during a
   * round the pair asked in, the look after that round does. The final sweep's grace period is waited in
   * full: it is there for late data.
   */
  pushed(now: number, arrived: IngestNotice): boolean {
    const at = now + pushSettleMs;
    if (this.phase !== 'polling' || !this.couldMatter(arrived)) return false;
    // Mid-round, the round's query may have run before the events were stored: the look after it comes at once.
    if (this.inRound) {
      this.pushedInRound = true;
      return false;
    }
    if (this.dueAt <= at) return false;
    this.dueAt = at;
    this.woken = true;
    return true;
  }

  /**
   * Whether events stamped within the pushed span could be in this pair's answers: its queries ask for events
   * stamped from `since` to the evidence end (clean-up's start), both included, so a span wholly outside
   * changes nothing it would find (the clean-up's own events, on a fleet every host's last few posts). A span
   * the SIEM could not date (an invalid date) could be anything.
   */
  couldMatter(arrived: IngestNotice): boolean {
    const { since, evidenceUntil } = this.plan;
    return !(
      arrived.latest.getTime() < since.getTime() ||
      (evidenceUntil !== null && arrived.earliest.getTime() > evidenceUntil.getTime())
    );
  }

  /** What is still awaited, as the heartbeat and the countdown say it. */
  pending(now: number): string[] {
    return this.plan.signals.flatMap(({ definition, expectation }) => {
      const id = definition.id;
      if (!this.awaited(id)) return [];
      if (this.captureOpen(now, id, expectation))
        return [`${id} (${expectation.captured ? 'its telemetry' : 'no telemetry, until the deadline'})`];
      if (this.detectOpen(now, id, expectation))
        return [`${id} (${expectation.detected === true ? 'an alert' : 'no alert, until the deadline'})`];
      return [];
    });
  }

  /** A wait that speaks: each signal once it is seen, and every 10 s what is still awaited and for how long. */
  speak(now: number): void {
    const { ctx, label } = this;
    for (const { definition, expectation } of this.plan.signals) {
      if (this.announced.has(definition.id) || !this.settled(definition.id, expectation)) continue;
      this.announced.add(definition.id);
      ctx.logger.info(
        `${label}: ${definition.id} seen${expectation.detected === true ? ' and alerted on' : ''} (${seconds(now - this.start)} s into the wait)`,
      );
    }
    // On a terminal the wait is a line counting down in place; elsewhere a heartbeat line every 10 s.
    if (ctx.logger.status === undefined && now - this.lastHeartbeat < heartbeatMs) return;
    this.lastHeartbeat = now;
    const pending = this.pending(now);
    if (ctx.logger.status !== undefined)
      ctx.logger.status(
        label,
        pending.length === 0 ? null : { pending: pending.join(', '), leftMs: this.lastDeadline - now },
      );
    else if (pending.length > 0)
      ctx.logger.info(
        `${label}: waiting for ${pending.join(', ')}; at most ${seconds(this.lastDeadline - now)} s left`,
      );
  }

  /** True while something is still worth another poll; sets stoppedEarly when only blind signals remain. */
  keepWaiting(now: number): boolean {
    const waiting = this.plan.signals.some((p) => this.awaited(p.definition.id) && this.open(now, p));
    const blindOpen = this.plan.signals.some((p) => !this.awaited(p.definition.id) && this.open(now, p));
    if (waiting || (blindOpen && this.canaryPending(now))) return true;
    this.stoppedEarly = blindOpen;
    return false;
  }

  observation(id: SignalId, expectation: Expectation, error: string | null): SignalObservation {
    const s = this.state(id);
    const aborted = this.ctx.signal.aborted;
    return {
      signal: id,
      events: [...s.events.values()],
      alerts: [...s.alerts.values()],
      firstSeenAt: s.firstSeenAt,
      alertFirstSeenAt: s.alertFirstSeenAt,
      polls: s.polls,
      error: this.settled(id, expectation) ? null : (s.refused ?? error),
      capturedLate: s.capturedLate,
      detectedLate: s.detectedLate,
      notAwaited: this.stoppedEarly && s.events.size === 0 && this.blindIds.has(id),
      absence: {
        // No event: proven only by the sweep after the capture deadline, and never after an interrupt.
        telemetry: s.events.size === 0 && s.telemetrySwept && !aborted,
        // No alert: proven at ingest over every event (local SIEM), or by the sweep after the deadline.
        alerts: s.events.size > 0 && (this.absenceProven(id) || s.alertsSwept) && !aborted,
      },
      raw: { events: [...s.rawEvents.values()], alerts: [...s.rawAlerts.values()] },
    };
  }

  outcome(): PollOutcome {
    const error =
      this.failure.fatal ??
      this.failure.last ??
      (this.ctx.signal.aborted ? 'polling was interrupted before the deadline' : null);
    return {
      signals: new Map(
        this.plan.signals.map(({ definition: { id }, expectation }) => [
          id,
          this.observation(id, expectation, error),
        ]),
      ),
      canary: this.plan.canary === null ? null : { event: this.canary, seenAt: this.canarySeenAt },
      queries: this.queries,
    };
  }
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
