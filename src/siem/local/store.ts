import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostKey } from '../../signals/compile-local.js';

export interface StoredEvent {
  readonly id: number;
  readonly time: string;
  readonly indexedAt: string;
  readonly host: string;
  readonly eventId: number;
  readonly sourcetype: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface StoredAlert {
  readonly id: number;
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly host: string;
  readonly time: string;
  readonly eventId: number;
}

interface EventRow {
  id: number;
  time: string;
  indexed_at: string;
  host: string;
  event_id: number;
  sourcetype: string;
  meta: string;
  fields: string;
}

interface AlertRow {
  id: number;
  rule_id: string;
  title: string;
  level: string;
  host: string;
  time: string;
  event_ref: number;
}

const schema = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  indexed_at TEXT NOT NULL,
  host TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  sourcetype TEXT NOT NULL,
  meta TEXT NOT NULL,
  fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_host_time ON events (host, time);
CREATE INDEX IF NOT EXISTS events_host_key_time ON events (${hostKey('host')}, time);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  rule_id TEXT NOT NULL,
  title TEXT NOT NULL,
  level TEXT NOT NULL,
  host TEXT NOT NULL,
  time TEXT NOT NULL,
  event_ref INTEGER NOT NULL REFERENCES events (id)
);
CREATE INDEX IF NOT EXISTS alerts_event ON alerts (event_ref);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id);
-- Every match of a rule a correlation names, whether or not the rule raises its own alert.
CREATE TABLE IF NOT EXISTS correlation_inputs (
  rule_id TEXT NOT NULL,
  event_ref INTEGER NOT NULL REFERENCES events (id)
);
CREATE INDEX IF NOT EXISTS correlation_inputs_rule ON correlation_inputs (rule_id);
`;

function toEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    time: row.time,
    indexedAt: row.indexed_at,
    host: row.host,
    eventId: row.event_id,
    sourcetype: row.sourcetype,
    meta: JSON.parse(row.meta) as Record<string, unknown>,
    fields: JSON.parse(row.fields) as Record<string, unknown>,
  };
}

function toAlert(row: AlertRow): StoredAlert {
  return {
    id: row.id,
    ruleId: row.rule_id,
    title: row.title,
    level: row.level,
    host: row.host,
    time: row.time,
    eventId: row.event_ref,
  };
}

/** How many prepared searches the store keeps: one per pair polling at once, on a fleet of hundreds. */
const searchCacheSize = 1024;

/** The local SIEM's store: SQLite, a file under .purple-harness/ by default or `:memory:` for tests. */
export class EventStore {
  readonly #db: Database.Database;
  // Prepared once: preparing per row cost more than the insert itself.
  readonly #insertEvent: Database.Statement;
  readonly #insertAlert: Database.Statement;
  readonly #insertCorrelationInput: Database.Statement;
  /** Searches by their SQL, most recent last: a pair's query keeps its text from one round to the next. */
  readonly #searches = new Map<string, Database.Statement<[Record<number, string | number>], EventRow>>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    // Recorded events run to 1-2 KB of JSON each (OTRF's carry the rendered Message): 16 KB pages took a
    // third off the insert time against the 4 KB default. Only a new database takes it; an existing one keeps its own.
    this.#db.pragma('page_size = 16384');
    this.#db.pragma('journal_mode = WAL');
    // SQLite's advice for WAL: no fsync at each commit, and still no corruption on a crash (only the last
    // commits may be lost on a power cut). FULL made every stored batch wait for the disk.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(schema);
    this.#insertEvent = this.#db.prepare(
      'INSERT INTO events (time, indexed_at, host, event_id, sourcetype, meta, fields) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertAlert = this.#db.prepare(
      'INSERT INTO alerts (rule_id, title, level, host, time, event_ref) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#insertCorrelationInput = this.#db.prepare(
      'INSERT INTO correlation_inputs (rule_id, event_ref) VALUES (?, ?)',
    );
  }

  insertEvent(event: Omit<StoredEvent, 'id'>): number {
    const result = this.#insertEvent.run(
      event.time,
      event.indexedAt,
      event.host,
      event.eventId,
      event.sourcetype,
      JSON.stringify(event.meta),
      JSON.stringify(event.fields),
    );
    return Number(result.lastInsertRowid);
  }

  insertAlert(alert: Omit<StoredAlert, 'id'>): number {
    const result = this.#insertAlert.run(
      alert.ruleId,
      alert.title,
      alert.level,
      alert.host,
      alert.time,
      alert.eventId,
    );
    return Number(result.lastInsertRowid);
  }

  /** Runs a compiled WHERE clause (see signals/compile-local.ts) against the events table. */
  /** Events matching a compiled clause whose parameters are numbered (`?1`, `?2`, …; compile-local.ts). */
  selectEvents(where: string, params: readonly (string | number)[]): StoredEvent[] {
    return this.searchEvents(`SELECT * FROM events WHERE ${where} ORDER BY time, id`, params);
  }

  /** The rows of a whole SELECT on `events` (a batch's UNION), its parameters numbered. */
  searchEvents(sql: string, params: readonly (string | number)[]): StoredEvent[] {
    // better-sqlite3 binds numbered parameters from an object keyed by their numbers.
    return this.#search(sql)
      .all(Object.fromEntries(params.map((value, i) => [i + 1, value])))
      .map(toEvent);
  }

  /** A search prepared once per text: compiling a long statement cost more than running it. */
  #search(sql: string): Database.Statement<[Record<number, string | number>], EventRow> {
    let statement = this.#searches.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare<[Record<number, string | number>], EventRow>(sql);
      if (this.#searches.size >= searchCacheSize)
        this.#searches.delete(this.#searches.keys().next().value ?? '');
    } else this.#searches.delete(sql);
    this.#searches.set(sql, statement);
    return statement;
  }

  /** Alerts on the events of a host (hostClause, on events.host, binds it three times) stamped within [since, until]. */
  alertsOnHost(
    hostClause: string,
    host: string,
    since: string,
    until: string,
  ): (StoredAlert & { readonly eventTime: string })[] {
    return this.#db
      .prepare<unknown[], AlertRow & { event_time: string }>(
        `SELECT alerts.*, events.time AS event_time FROM alerts JOIN events ON events.id = alerts.event_ref
         WHERE ${hostClause} AND events.time >= ? AND events.time <= ?
         ORDER BY events.time, alerts.id`,
      )
      .all(host, host, host, since, until)
      .map((row) => ({ ...toAlert(row), eventTime: row.event_time }));
  }

  insertCorrelationInput(ruleId: string, eventId: number): void {
    this.#insertCorrelationInput.run(ruleId, eventId);
  }

  /** The matches of these rules on events stamped within [since, until], with the events' fields. */
  correlationInputs(
    ruleIds: readonly string[],
    since: string,
    until: string,
  ): { readonly ruleId: string; readonly fields: Record<string, unknown> }[] {
    const marks = ruleIds.map(() => '?').join(', ');
    return this.#db
      .prepare<unknown[], { rule_id: string; fields: string }>(
        `SELECT correlation_inputs.rule_id, events.fields FROM correlation_inputs
         JOIN events ON events.id = correlation_inputs.event_ref
         WHERE correlation_inputs.rule_id IN (${marks}) AND events.time >= ? AND events.time <= ?`,
      )
      .all(...ruleIds, since, until)
      .map((row) => ({ ruleId: row.rule_id, fields: JSON.parse(row.fields) as Record<string, unknown> }));
  }

  /** The fields of the events a rule alerted on, stamped within [since, until]. */
  alertedEventFields(ruleId: string, since: string, until: string): Record<string, unknown>[] {
    return this.#db
      .prepare<unknown[], { fields: string }>(
        `SELECT events.fields FROM alerts JOIN events ON events.id = alerts.event_ref
         WHERE alerts.rule_id = ? AND events.time >= ? AND events.time <= ?`,
      )
      .all(ruleId, since, until)
      .map((row) => JSON.parse(row.fields) as Record<string, unknown>);
  }

  alertsForEvents(eventIds: readonly number[]): StoredAlert[] {
    if (eventIds.length === 0) return [];
    // One JSON parameter, however many events a round asks about (SQLite takes at most 32,766 parameters).
    return this.#db
      .prepare<[string], AlertRow>(
        'SELECT * FROM alerts WHERE event_ref IN (SELECT value FROM json_each(?)) ORDER BY time, id',
      )
      .all(JSON.stringify(eventIds))
      .map(toAlert);
  }

  transaction<T>(work: () => T): T {
    return this.#db.transaction(work)();
  }

  close(): void {
    this.#db.close();
  }
}
