import type {
  BatchLimits,
  HostAlert,
  IngestEndpoint,
  IngestNotice,
  ProbeId,
  SiemAlert,
  SiemConnector,
  SiemEvent,
  DetectionQuery,
  TelemetryQuery,
  TimeWindow,
} from '../../core/index.js';
import {
  SiemError,
  defaultTuning,
  errorMessage,
  interruption,
  tuningLabel,
  type Tuning,
} from '../../core/index.js';
import type { ResolvedCorrelation } from '../../sigma/correlation.js';
import { attackIds, type CompiledRule } from '../../sigma/engine.js';
import { RuleIndex } from '../../sigma/rule-index.js';
import { compileLocal, compileLocalBatch, localHostClause } from '../../signals/compile-local.js';
import { classify, classifyBatch, firstLabel, sameHost } from '../../signals/classify.js';
import type { HecEnvelope, HecServer } from './hec-server.js';
import type { EventStore, StoredAlert, StoredEvent } from './store.js';

/** An event ready for the store: flat fields plus where it came from. */
export interface IncomingEvent {
  readonly time: string;
  readonly host: string;
  readonly sourcetype: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Alerts raised per rule id. */
export type AlertCounts = Map<string, { title: string; level: string; count: number }>;

const eventRef = (id: number): string => `local:event:${id}`;
const alertRef = (id: number): string => `local:alert:${id}`;

function flatEvent(envelope: HecEnvelope): Record<string, unknown> {
  const { event } = envelope;
  if (typeof event === 'object' && event !== null && !Array.isArray(event))
    return { ...(event as Record<string, unknown>) };
  return { _raw: typeof event === 'string' ? event : JSON.stringify(event) };
}

function eventTime(envelope: HecEnvelope, fields: Record<string, unknown>, now: Date): string {
  if (typeof envelope.time === 'number') return new Date(envelope.time * 1000).toISOString();
  if (typeof fields.UtcTime === 'string') {
    const parsed = new Date(`${fields.UtcTime.replace(' ', 'T')}Z`);
    if (!Number.isNaN(parsed.getTime())) return parsed.toISOString();
  }
  return now.toISOString();
}

/** The embedded SIEM: HEC ingest into SQLite, Sigma rules evaluated as events arrive. */
/**
 * What one local search may carry, from SQLite's limits as better-sqlite3 builds it: a batch is a UNION of
 * one SELECT per pair, at most 500 of them (SQLITE_MAX_COMPOUND_SELECT), its parameters at most 32,766
 * (SQLITE_MAX_VARIABLE_NUMBER), each distinct value bound once. compile-local.test.ts runs a batch this
 * large, every probe in every pair, in SQLite.
 */
export const localBatchLimits = { maxQueries: 500, maxProbes: 4000 } as const satisfies BatchLimits;

export class LocalSiem implements SiemConnector {
  readonly id = 'local';
  // store() evaluates every rule in the transaction that inserts the event (see store below).
  readonly alertsAtIngest = true;
  readonly batchLimits = localBatchLimits;
  readonly #store: EventStore;
  readonly #rules: RuleIndex<CompiledRule>;
  /** The correlations that name each rule, by the rule's id. */
  readonly #correlationsOf: ReadonlyMap<string, readonly ResolvedCorrelation[]>;
  /** Rules that raise their own alerts although a correlation names them (its `generate: true`). */
  readonly #generating: ReadonlySet<string>;
  readonly #correlationCount: number;
  readonly #tags: ReadonlyMap<string, readonly string[]>;
  readonly #hec: HecServer | null;
  readonly #token: string;
  readonly #now: () => Date;
  /** The tuning its rules read, as reports name it (tuningLabel). */
  readonly tuning: string;
  /**
   * Who is told when a host's events are stored (onIngest): each listener with the host it asked about, by
   * the host's first label (a fleet's every post would otherwise visit them all).
   */
  readonly #listeners = new Map<
    string,
    Set<{ readonly host: string; readonly listener: (arrived: IngestNotice) => void }>
  >();

  constructor(options: {
    store: EventStore;
    rules: readonly CompiledRule[];
    correlations?: readonly ResolvedCorrelation[];
    hec: HecServer | null;
    token: string;
    now: () => Date;
    /** The tuning its rules read (core/tuning.ts), named in describe(): the default when absent. */
    tuning?: Tuning;
  }) {
    this.#store = options.store;
    this.#rules = new RuleIndex(options.rules);
    const correlations = options.correlations ?? [];
    this.#tags = new Map([...options.rules, ...correlations].map((rule) => [rule.id, rule.tags]));
    const correlationsOf = new Map<string, ResolvedCorrelation[]>();
    for (const correlation of correlations)
      for (const id of correlation.ruleIds)
        correlationsOf.set(id, [...(correlationsOf.get(id) ?? []), correlation]);
    this.#correlationsOf = correlationsOf;
    this.#generating = new Set(correlations.filter((c) => c.generate).flatMap((c) => c.ruleIds));
    this.#correlationCount = correlations.length;
    this.#hec = options.hec;
    this.#token = options.token;
    this.#now = options.now;
    this.tuning = tuningLabel(options.tuning ?? defaultTuning);
  }

  describe(): string {
    const correlations =
      this.#correlationCount > 0 ? ` and ${String(this.#correlationCount)} correlations` : '';
    return `local SIEM (SQLite, ${this.#rules.size} Sigma rules${correlations}, tuning ${this.tuning}${this.#hec ? `, HEC at ${this.#hec.url}` : ''})`;
  }

  /** Stores a HEC batch and evaluates the rules on every event. */
  ingest(envelopes: readonly HecEnvelope[]): AlertCounts {
    const now = this.#now();
    return this.store(
      envelopes.map((envelope) => {
        const fields = flatEvent(envelope);
        return {
          time: eventTime(envelope, fields, now),
          host: envelope.host ?? (typeof fields.Computer === 'string' ? fields.Computer : 'unknown'),
          sourcetype: envelope.sourcetype ?? 'unknown',
          meta: {
            source: envelope.source ?? null,
            index: envelope.index ?? null,
            fields: envelope.fields ?? {},
          },
          fields,
        };
      }),
    );
  }

  /**
   * Stores normalised events and evaluates the rules on each as it arrives, in one transaction: every rule
   * that can match the event (the rule index leaves out only rules that cannot). Returns how many alerts each
   * rule raised.
   */
  store(events: readonly IncomingEvent[]): AlertCounts {
    const indexedAt = this.#now().toISOString();
    const counts: AlertCounts = new Map();
    this.#store.transaction(() => {
      for (const event of events) {
        const eventId = Number(event.fields.EventID ?? 0);
        const id = this.#store.insertEvent({
          time: event.time,
          indexedAt,
          host: event.host,
          eventId: Number.isFinite(eventId) ? eventId : 0,
          sourcetype: event.sourcetype,
          meta: event.meta,
          fields: event.fields,
        });
        const raise = (rule: { id: string; title: string; level: string }): void => {
          this.#store.insertAlert({
            ruleId: rule.id,
            title: rule.title,
            level: rule.level,
            host: event.host,
            time: indexedAt,
            eventId: id,
          });
          const seen = counts.get(rule.id);
          counts.set(rule.id, { title: rule.title, level: rule.level, count: (seen?.count ?? 0) + 1 });
        };
        const touched = new Set<ResolvedCorrelation>();
        for (const rule of this.#rules.matching(event.fields)) {
          const correlations = this.#correlationsOf.get(rule.id);
          // A rule a correlation names only feeds it, unless the correlation says generate: true.
          if (correlations === undefined || this.#generating.has(rule.id)) raise(rule);
          if (correlations === undefined) continue;
          this.#store.insertCorrelationInput(rule.id, id);
          for (const correlation of correlations) touched.add(correlation);
        }
        for (const correlation of touched) if (this.#correlationFires(correlation, event)) raise(correlation);
      }
    });
    this.#tell(events);
    return counts;
  }

  /**
   * Tells each listener whose host sent some of `events`, once, after they are committed and searchable, with
   * the span of those events' times.
   */
  #tell(events: readonly IncomingEvent[]): void {
    if (this.#listeners.size === 0) return;
    const spans = new Map<string, { earliest: number; latest: number }>();
    for (const event of events) {
      const at = Date.parse(event.time);
      const span = spans.get(event.host);
      if (span === undefined) spans.set(event.host, { earliest: at, latest: at });
      else {
        span.earliest = Math.min(span.earliest, at);
        span.latest = Math.max(span.latest, at);
      }
    }
    const told = new Map<(arrived: IngestNotice) => void, { earliest: number; latest: number }>();
    for (const [host, span] of spans)
      for (const entry of this.#listeners.get(firstLabel(host)) ?? [])
        if (sameHost(host, entry.host)) {
          const before = told.get(entry.listener);
          told.set(
            entry.listener,
            before === undefined
              ? span
              : {
                  earliest: Math.min(before.earliest, span.earliest),
                  latest: Math.max(before.latest, span.latest),
                },
          );
        }
    for (const [listener, span] of told)
      listener({ earliest: new Date(span.earliest), latest: new Date(span.latest) });
  }

  onIngest(host: string, listener: (arrived: IngestNotice) => void): () => void {
    const entry = { host, listener };
    const label = firstLabel(host);
    const entries = this.#listeners.get(label) ?? new Set();
    entries.add(entry);
    this.#listeners.set(label, entries);
    return () => {
      entries.delete(entry);
      if (entries.size === 0 && this.#listeners.get(label) === entries) this.#listeners.delete(label);
    };
  }

  /**
   * Whether a correlation fires on the event just stored: the matches of its rules in the event's group over
   * the timespan up to the event satisfy it, and it has not fired on that group within the timespan already
   * (one alert per group and window, not one per match after the threshold). Events are taken as they arrive.
   */
  #correlationFires(correlation: ResolvedCorrelation, event: IncomingEvent): boolean {
    const since = new Date(Date.parse(event.time) - correlation.timespanMs).toISOString();
    const group = correlation.groupOf(event.fields);
    const inGroup = (fields: Readonly<Record<string, unknown>>): boolean =>
      correlation.groupOf(fields) === group;
    const inputs = this.#store
      .correlationInputs(correlation.ruleIds, since, event.time)
      .filter((input) => inGroup(input.fields));
    if (!correlation.holds(inputs, correlation.ruleIds)) return false;
    return !this.#store.alertedEventFields(correlation.id, since, event.time).some(inGroup);
  }

  queryText(query: TelemetryQuery): string {
    const { sql, params } = compileLocal(query);
    return `${sql} -- ${JSON.stringify(params)}`;
  }

  findTelemetry(
    query: TelemetryQuery,
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<ProbeId, readonly SiemEvent[]>> {
    return this.#select(signal, () => {
      const compiled = compileLocal(query);
      return classify(query, this.#store.searchEvents(compiled.sql, compiled.params).map(toSiemEvent));
    });
  }

  findTelemetryBatch(
    queries: readonly TelemetryQuery[],
    signal?: AbortSignal,
  ): Promise<readonly ReadonlyMap<ProbeId, readonly SiemEvent[]>[]> {
    return this.#select(signal, () => {
      const compiled = compileLocalBatch(queries);
      return classifyBatch(queries, this.#store.searchEvents(compiled.sql, compiled.params).map(toSiemEvent));
    });
  }

  /** One telemetry search, its failure a refusal naming this SIEM. */
  #select<T>(signal: AbortSignal | undefined, search: () => T): Promise<T> {
    // SQLite answers synchronously: an abort can only be honoured before the query starts.
    if (signal?.aborted === true) return Promise.reject(interruption('[siem:local] telemetry query'));
    try {
      return Promise.resolve(search());
    } catch (error) {
      return Promise.reject(
        new SiemError('E_SIEM_QUERY', `[siem:local] telemetry query failed: ${errorMessage(error)}`, {
          cause: error,
        }),
      );
    }
  }

  detectionText(query: DetectionQuery): string {
    return `SELECT * FROM alerts WHERE event_id IN (${query.eventRefs.join(', ')})`;
  }

  findDetections(query: DetectionQuery, signal?: AbortSignal): Promise<readonly SiemAlert[]> {
    if (signal?.aborted === true) return Promise.reject(interruption('[siem:local] alert search'));
    return Promise.resolve(this.#alertsFor(query.eventRefs));
  }

  /** Every pair's alert search in one: the alerts on all their events, each pair given those on its own. */
  findDetectionsBatch(
    queries: readonly DetectionQuery[],
    signal?: AbortSignal,
  ): Promise<readonly (readonly SiemAlert[])[]> {
    if (signal?.aborted === true) return Promise.reject(interruption('[siem:local] alert search'));
    const alerts = this.#alertsFor(queries.flatMap((q) => q.eventRefs));
    return Promise.resolve(
      queries.map((query) => {
        const own = new Set(query.eventRefs);
        return alerts.filter((alert) => alert.eventRefs.some((ref) => own.has(ref)));
      }),
    );
  }

  #alertsFor(eventRefs: readonly string[]): SiemAlert[] {
    const ids = eventRefs
      .map((ref) => Number(/^local:event:(\d+)$/.exec(ref)?.[1] ?? NaN))
      .filter(Number.isFinite);
    return this.#store.alertsForEvents([...new Set(ids)]).map((alert) => this.#toSiemAlert(alert));
  }

  findHostAlerts(query: TimeWindow & { readonly host: string }): Promise<readonly HostAlert[]> {
    return Promise.resolve(
      this.#store
        .alertsOnHost(
          localHostClause('events.host'),
          query.host,
          query.since.toISOString(),
          query.until.toISOString(),
        )
        .map((alert) => ({ ...this.#toSiemAlert(alert), eventTime: alert.eventTime })),
    );
  }

  #toSiemAlert(alert: StoredAlert): SiemAlert {
    return {
      ref: alertRef(alert.id),
      ruleId: alert.ruleId,
      title: alert.title,
      level: alert.level,
      host: alert.host,
      time: alert.time,
      eventRefs: [eventRef(alert.eventId)],
      attack: attackIds(this.#tags.get(alert.ruleId) ?? []),
    };
  }

  ingestEndpoint(): IngestEndpoint | null {
    return this.#hec ? { protocol: 'local-hec', url: this.#hec.url, token: this.#token } : null;
  }

  /** Closes the store when no HEC endpoint was started (ingest). */
  closeStore(): void {
    this.#store.close();
  }

  async dispose(): Promise<void> {
    await this.#hec?.close();
    this.#store.close();
  }
}

function toSiemEvent(row: StoredEvent): SiemEvent {
  return {
    ref: eventRef(row.id),
    time: row.time,
    indexedAt: row.indexedAt,
    host: row.host,
    eventId: row.eventId,
    fields: row.fields,
  };
}
