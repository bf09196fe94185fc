import type {
  SignalId,
  SiemAlert,
  SiemConnector,
  SiemEvent,
  DetectionQuery,
  TelemetryQuery,
} from '../../core/index.js';
import { SiemError, errorMessage } from '../../core/index.js';
import type { CompiledRule } from '../../sigma/engine.js';
import { compileLocal } from '../../signals/compile-local.js';
import { matchesSignal } from '../../signals/match.js';
import type { HecEnvelope, HecServer } from './hec-server.js';
import type { EventStore, StoredEvent } from './store.js';

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
export class LocalSiem implements SiemConnector {
  readonly id = 'local';
  readonly #store: EventStore;
  readonly #rules: readonly CompiledRule[];
  readonly #hec: HecServer | null;
  readonly #token: string;
  readonly #now: () => Date;

  constructor(options: {
    store: EventStore;
    rules: readonly CompiledRule[];
    hec: HecServer | null;
    token: string;
    now: () => Date;
  }) {
    this.#store = options.store;
    this.#rules = options.rules;
    this.#hec = options.hec;
    this.#token = options.token;
    this.#now = options.now;
  }

  describe(): string {
    return `local SIEM (SQLite, ${this.#rules.length} Sigma rules${this.#hec ? `, HEC at ${this.#hec.url}` : ''})`;
  }

  /** Stores a batch and evaluates every rule on every event, in one transaction. */
  ingest(envelopes: readonly HecEnvelope[]): void {
    const indexedAt = this.#now().toISOString();
    this.#store.transaction(() => {
      for (const envelope of envelopes) {
        const fields = flatEvent(envelope);
        const host = envelope.host ?? (typeof fields.Computer === 'string' ? fields.Computer : 'unknown');
        const time = eventTime(envelope, fields, this.#now());
        const eventId = Number(fields.EventID ?? 0);
        const id = this.#store.insertEvent({
          time,
          indexedAt,
          host,
          eventId: Number.isFinite(eventId) ? eventId : 0,
          sourcetype: envelope.sourcetype ?? 'unknown',
          meta: {
            source: envelope.source ?? null,
            index: envelope.index ?? null,
            fields: envelope.fields ?? {},
          },
          fields,
        });
        for (const rule of this.#rules) {
          if (rule.matches(fields))
            this.#store.insertAlert({
              ruleId: rule.id,
              title: rule.title,
              level: rule.level,
              host,
              time: indexedAt,
              eventId: id,
            });
        }
      }
    });
  }

  findTelemetry(query: TelemetryQuery): Promise<ReadonlyMap<SignalId, readonly SiemEvent[]>> {
    try {
      const compiled = compileLocal(query);
      const rows = this.#store.selectEvents(compiled.where, compiled.params);
      const out = new Map<SignalId, SiemEvent[]>();
      for (const row of rows) {
        for (const signal of query.signals) {
          if (!matchesSignal(signal, row, query.bindings, query)) continue;
          const list = out.get(signal.id) ?? [];
          list.push(toSiemEvent(row));
          out.set(signal.id, list);
        }
      }
      return Promise.resolve(out);
    } catch (error) {
      return Promise.reject(
        new SiemError('E_SIEM_QUERY', `[siem:local] telemetry query failed: ${errorMessage(error)}`, {
          cause: error,
        }),
      );
    }
  }

  findDetections(query: DetectionQuery): Promise<readonly SiemAlert[]> {
    const ids = query.eventRefs
      .map((ref) => Number(/^local:event:(\d+)$/.exec(ref)?.[1] ?? NaN))
      .filter(Number.isFinite);
    return Promise.resolve(
      this.#store.alertsForEvents(ids).map((alert) => ({
        ref: alertRef(alert.id),
        ruleId: alert.ruleId,
        title: alert.title,
        level: alert.level,
        host: alert.host,
        time: alert.time,
        eventRefs: [eventRef(alert.eventId)],
      })),
    );
  }

  ingestEndpoint(): { protocol: 'splunk-hec'; url: string; token: string } | null {
    return this.#hec ? { protocol: 'splunk-hec', url: this.#hec.url, token: this.#token } : null;
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
