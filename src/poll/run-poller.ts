import type {
  BatchLimits,
  DetectionQuery,
  ProbeId,
  SiemAlert,
  SiemConnector,
  SiemEvent,
  TelemetryProbe,
  TelemetryQuery,
} from '../core/index.js';
import { SiemError, errorMessage } from '../core/index.js';
import {
  Poll,
  type Ask,
  type PollContext,
  type PollOutcome,
  type PollPlan,
  type RoundRecord,
  type TelemetryAnswer,
} from './poll.js';

/** One pair's answer in a round, or what stopped it. */
type Answer<T> = { readonly value: T } | { readonly error: unknown };

/** A query the SIEM refused as written (HTTP 400, a FATAL search error): retrying it as is cannot help. */
const isRefusal = (error: unknown): boolean =>
  error instanceof SiemError && error.code === 'E_SIEM_QUERY' && !error.retryable;

/**
 * The run's poller: every pair (scenario x host) that reaches its poll is watched here, and each poll round
 * asks the SIEM once for every pair due, however many hosts the run has; a SIEM that answers many pairs in
 * one query (capability `batch`) gets one query per round, split only to fit its declared limits. Each pair
 * keeps its own deadlines, backoff and final sweep: a round takes every pair due within one base interval
 * (so rounds come at most that often), and a SIEM that says a host's events arrived (push) brings that
 * host's next look forward to now.
 */
export class RunPoller {
  readonly #ctx: PollContext;
  readonly #polls = new Map<
    Poll,
    { resolve: (o: PollOutcome) => void; reject: (error: unknown) => void; unsubscribe: () => void }
  >();
  #wake: AbortController | null = null;
  #running = false;
  #rounds = 0;

  constructor(ctx: PollContext) {
    this.#ctx = ctx;
  }

  /** How many rounds have gone out so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /**
   * Polls one pair until every expectation is settled or its deadline passes. A signal expected *absent* is
   * watched until its deadline, since absence can only be shown by waiting; a final sweep after the deadline
   * makes sure nothing that arrived in time is missed.
   */
  watch(plan: PollPlan): Promise<PollOutcome> {
    const ctx = this.#ctx;
    const poll = new Poll(plan, ctx);
    if (poll.blindIds.size > 0)
      ctx.logger.info(
        `${poll.label}: not waiting for ${[...poll.blindIds].join(', ')}: preflight found the host's sensors cannot record ${poll.blindIds.size === 1 ? 'it' : 'them'} (still looked for in every query)`,
      );
    return new Promise<PollOutcome>((resolve, reject) => {
      const unsubscribe =
        plan.connector.onIngest?.(plan.host, (arrived) => {
          if (poll.pushed(ctx.clock.now().getTime(), arrived)) this.#wake?.abort();
        }) ?? (() => undefined);
      this.#polls.set(poll, { resolve, reject, unsubscribe });
      this.#wake?.abort();
      if (!this.#running) void this.#start();
    });
  }

  /**
   * Rounds until no pair is left; an interrupt ends every pair's poll with what it has seen so far, and a bug
   * that breaks the rounds fails every pair still watched, never leaves one waiting. It says it stopped in the
   * same step as it finds no pair left, so a pair watched after that starts the rounds again.
   */
  async #start(): Promise<void> {
    const ctx = this.#ctx;
    this.#running = true;
    try {
      while (this.#polls.size > 0) {
        if (ctx.signal.aborted) {
          for (const poll of [...this.#polls.keys()]) this.#finish(poll);
          return;
        }
        const now = ctx.clock.now().getTime();
        const next = Math.min(...[...this.#polls.keys()].map((p) => p.dueAt));
        if (next > now) await this.#sleep(next - now);
        else await this.#round(now);
      }
    } catch (error) {
      for (const poll of [...this.#polls.keys()]) this.#finish(poll, error);
    } finally {
      this.#running = false;
    }
  }

  /** Sleeps until `ms` pass, a pair is added or pushed (a wake), or the run is interrupted. */
  async #sleep(ms: number): Promise<void> {
    const wake = new AbortController();
    this.#wake = wake;
    try {
      await this.#ctx.sleep(ms, AbortSignal.any([this.#ctx.signal, wake.signal]));
    } catch (error) {
      if (!this.#ctx.signal.aborted && !wake.signal.aborted) throw error;
    } finally {
      this.#wake = null;
    }
  }

  /** One round: every pair due asks, grouped per SIEM, then each pair sets its next look. */
  async #round(nowMs: number): Promise<void> {
    const ctx = this.#ctx;
    const members = this.#members(nowMs);
    this.#rounds += 1;
    const number = this.#rounds;
    const now = new Date(nowMs);
    const asks = members.map((p) => ({ poll: p, ask: p.ask(now) }));
    const bySiem = new Map<SiemConnector, Ask[]>();
    for (const { ask } of asks) {
      if (ask === null) continue;
      const group = bySiem.get(ask.poll.plan.connector);
      if (group === undefined) bySiem.set(ask.poll.plan.connector, [ask]);
      else group.push(ask);
    }
    for (const [connector, group] of bySiem) await askSiem(connector, group, number, ctx.signal);
    const after = ctx.clock.now().getTime();
    for (const { poll, ask } of asks) {
      poll.succeeded(ask);
      poll.advance(after);
      if (poll.phase === 'done') this.#finish(poll);
    }
  }

  /**
   * Who looks in a round at `nowMs`: every pair due, and, when one is due by its poll schedule, every pair
   * whose scheduled look falls within one base interval (so scheduled rounds come at most that often). A
   * round made due only by pushes and final sweeps takes those pairs alone: at fleet scale they come every
   * few milliseconds, and pulling the schedule forward at each would look at every pair many times over.
   */
  #members(nowMs: number): Poll[] {
    const polls = [...this.#polls.keys()];
    const due = polls.filter((p) => p.dueAt <= nowMs);
    if (!due.some((p) => p.phase === 'polling' && !p.woken)) return due;
    return polls.filter((p) =>
      p.phase === 'sweep' ? p.dueAt <= nowMs : p.dueAt <= nowMs + p.plan.schedule.intervalMs,
    );
  }

  /** The pair is no longer watched: its outcome, or the error that broke the rounds. */
  #finish(poll: Poll, error?: unknown): void {
    const entry = this.#polls.get(poll);
    if (entry === undefined) return;
    this.#polls.delete(poll);
    entry.unsubscribe();
    this.#ctx.logger.status?.(poll.label, null);
    if (error === undefined) entry.resolve(poll.outcome());
    else entry.reject(error);
  }
}

/** One pair polled on its own: a poller with a single pair (tests, and callers outside a run). */
export function pollSignals(plan: PollPlan, ctx: PollContext): Promise<PollOutcome> {
  return new RunPoller(ctx).watch(plan);
}

/** One SIEM's part of a round: the telemetry for every pair asking, then the alert search for those with events. */
async function askSiem(
  connector: SiemConnector,
  asks: readonly Ask[],
  number: number,
  signal: AbortSignal,
): Promise<void> {
  const telemetry = await searchTelemetry(
    connector,
    asks.map((a) => a.query),
    signal,
  );
  const round: RoundRecord = { number, pairs: asks.length, queries: telemetry.sent };
  asks.forEach((ask, i) => {
    const answer = telemetry.answers[i];
    if (answer === undefined) return;
    if ('error' in answer) ask.poll.failed(answer.error, 'telemetry', ask);
    else ask.poll.answered(ask, answer.value, round);
  });
  const detections: { ask: Ask; query: DetectionQuery }[] = [];
  for (const ask of asks) {
    const query = ask.ok ? ask.poll.detectionQuery(ask) : null;
    if (query === null) continue;
    try {
      await ask.poll.trigger(ask, query);
      detections.push({ ask, query });
    } catch (error) {
      ask.poll.failed(error, 'trigger', ask);
    }
  }
  if (detections.length === 0) return;
  const alerts = await searchDetections(
    connector,
    detections.map((d) => d.query),
    signal,
  );
  const alertRound: RoundRecord = { number, pairs: detections.length, queries: alerts.sent };
  detections.forEach(({ ask, query }, i) => {
    const answer = alerts.answers[i];
    if (answer === undefined) return;
    if ('error' in answer) ask.poll.failed(answer.error, 'detections', ask);
    else ask.poll.alertsAnswered(ask, query, answer.value, alertRound);
  });
}

/** How a round's items go out: in batches within the declared limits, each split in halves when refused. */
interface Batching<Q, A> {
  /** One item alone, the way a SIEM with no batch call is asked; `tally` counts each SIEM query it sends. */
  readonly one: (query: Q, tally: () => void) => Promise<A>;
  /** Many items in one query; absent when the SIEM has no batch call. */
  readonly many: ((queries: readonly Q[]) => Promise<readonly A[]>) | undefined;
  readonly limits: BatchLimits | undefined;
  /** How many probes an item carries (the clause-count limit). */
  readonly weight: (query: Q) => number;
}

/**
 * Answers every item of a round with as few SIEM queries as the connector's declared limits allow. A batch
 * the SIEM refuses is split in halves until each part is answered or an item stands alone, which is then
 * asked on its own; a batch that fails otherwise (a 503, an interrupt) fails every item in it.
 */
async function answerRound<Q, A>(
  items: readonly Q[],
  how: Batching<Q, A>,
): Promise<{ answers: Answer<A>[]; sent: number }> {
  const answers: Answer<A>[] = new Array<Answer<A>>(items.length);
  let sent = 0;
  const alone = async (i: number): Promise<void> => {
    const item = items[i] as Q;
    answers[i] = await how
      .one(item, () => (sent += 1))
      .then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
  };
  const { many, limits } = how;
  if (many === undefined || limits === undefined || items.length === 1) {
    await Promise.all(items.map((_, i) => alone(i)));
    return { answers, sent };
  }
  const batch = async (indices: readonly number[]): Promise<void> => {
    if (indices.length === 1) return alone(indices[0] as number);
    sent += 1;
    try {
      const got = await many(indices.map((i) => items[i] as Q));
      if (got.length !== indices.length)
        throw new SiemError(
          'E_SIEM_QUERY',
          `a batch of ${String(indices.length)} was answered with ${String(got.length)}`,
        );
      indices.forEach((i, k) => (answers[i] = { value: got[k] as A }));
    } catch (error) {
      if (!isRefusal(error)) {
        for (const i of indices) answers[i] = { error };
        return;
      }
      const half = Math.ceil(indices.length / 2);
      await batch(indices.slice(0, half));
      await batch(indices.slice(half));
    }
  };
  for (const chunk of packed(items, limits, how.weight)) await batch(chunk);
  return { answers, sent };
}

/** The round's items in order, in as few chunks as fit the limits; an item over them alone goes alone. */
export function packed<Q>(
  items: readonly Q[],
  limits: BatchLimits,
  weight: (query: Q) => number,
): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let load = 0;
  items.forEach((item, i) => {
    const w = weight(item);
    if (current.length > 0 && (current.length >= limits.maxQueries || load + w > limits.maxProbes)) {
      chunks.push(current);
      current = [];
      load = 0;
    }
    current.push(i);
    load += w;
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Every pair's telemetry question of the round; a pair asked alone still has its refused probes isolated. */
function searchTelemetry(
  connector: SiemConnector,
  queries: readonly TelemetryQuery[],
  signal: AbortSignal,
): Promise<{ answers: Answer<TelemetryAnswer>[]; sent: number }> {
  return answerRound<TelemetryQuery, TelemetryAnswer>(queries, {
    one: (query, tally) => findIsolating(connector, query, signal, tally),
    many: connector.findTelemetryBatch
      ? async (batch) =>
          (await connector.findTelemetryBatch?.(batch, signal))?.map((found) => ({
            found,
            refused: new Map<ProbeId, string>(),
          })) ?? []
      : undefined,
    limits: connector.batchLimits,
    weight: (query) => query.signals.length,
  });
}

/** Every pair's alert search of the round. */
function searchDetections(
  connector: SiemConnector,
  queries: readonly DetectionQuery[],
  signal: AbortSignal,
): Promise<{ answers: Answer<readonly SiemAlert[]>[]; sent: number }> {
  return answerRound<DetectionQuery, readonly SiemAlert[]>(queries, {
    one: (query, tally) => {
      tally();
      return connector.findDetections(query, signal);
    },
    many: connector.findDetectionsBatch
      ? async (batch) => (await connector.findDetectionsBatch?.(batch, signal)) ?? []
      : undefined,
    limits: connector.batchLimits,
    weight: () => 1,
  });
}

/**
 * One pair's query; when the SIEM refuses it, the probes are split in halves and retried until each refusal
 * names a single probe, so one bad clause never blinds the other signals of the poll. When every probe is
 * refused on its own, the query as a whole is wrong: the first refusal is thrown as before.
 */
export async function findIsolating(
  connector: SiemConnector,
  query: TelemetryQuery,
  signal: AbortSignal,
  tally: () => void = () => undefined,
): Promise<{ found: Map<ProbeId, readonly SiemEvent[]>; refused: Map<ProbeId, string> }> {
  const found = new Map<ProbeId, readonly SiemEvent[]>();
  const refused = new Map<ProbeId, string>();
  let first: unknown = null;
  const search = async (probes: readonly TelemetryProbe[]): Promise<void> => {
    try {
      tally();
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
