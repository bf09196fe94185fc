import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMarker, markerLength, markerPrefix } from '../../core/index.js';
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
-- Every run-marker-shaped run of characters in an event's stored fields, overlapping ones too (markersIn):
-- what Splunk's lexicon and Elastic's inverted index are to a marker search, so a search by marker reads the
-- marker's own events instead of every byte of every event of the host.
CREATE TABLE IF NOT EXISTS event_markers (
  marker TEXT NOT NULL,
  event_ref INTEGER NOT NULL REFERENCES events (id),
  PRIMARY KEY (marker, event_ref)
) WITHOUT ROWID;
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

/**
 * The marker-shaped strings `instr(text, marker)` would find in `text`: every place the marker prefix starts
 * whose next characters make a whole marker, overlapping ones included (`phph…`). A marker has no wildcard a
 * match could stretch across, so this is exactly the set of markers `instr` finds there.
 */
export function markersIn(text: string): Set<string> {
  const found = new Set<string>();
  for (let at = text.indexOf(markerPrefix); at !== -1; at = text.indexOf(markerPrefix, at + 1)) {
    const candidate = text.slice(at, at + markerLength);
    if (isMarker(candidate)) found.add(candidate);
  }
  return found;
}

/** The schema's version, in SQLite's user_version: 1 added event_markers, filled for older events on open. */
const schemaVersion = 1;

/** How many prepared searches the store keeps: one per pair polling at once, on a fleet of hundreds. */
const searchCacheSize = 1024;

/** The local SIEM's store: SQLite, a file under .purple-harness/ by default or `:memory:` for tests. */
export class EventStore {
  readonly #db: Database.Database;
  // Prepared once: preparing per row cost more than the insert itself.
  readonly #insertEvent: Database.Statement;
  readonly #insertAlert: Database.Statement;
  readonly #insertCorrelationInput: Database.Statement;
  readonly #insertMarker: Database.Statement;
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
    this.#insertMarker = this.#db.prepare(
      'INSERT OR IGNORE INTO event_markers (marker, event_ref) VALUES (?, ?)',
    );
    this.#upgrade();
  }

  /** A store written by an older version: its events' markers are indexed once, so marker searches find them. */
  #upgrade(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version >= schemaVersion) return;
    // In pages: SQLite cannot write while a read on the same connection is still open.
    const page = this.#db.prepare<[number], { id: number; fields: string }>(
      'SELECT id, fields FROM events WHERE id > ? ORDER BY id LIMIT 1000',
    );
    this.transaction(() => {
      let rows = page.all(0);
      while (rows.length > 0) {
        for (const row of rows) this.#indexMarkers(row.id, row.fields);
        rows = page.all(rows[rows.length - 1]?.id ?? Number.MAX_SAFE_INTEGER);
      }
      this.#db.pragma(`user_version = ${String(schemaVersion)}`);
    });
  }

  #indexMarkers(id: number, fields: string): void {
    for (const marker of markersIn(fields)) this.#insertMarker.run(marker, id);
  }

  insertEvent(event: Omit<StoredEvent, 'id'>): number {
    const fields = JSON.stringify(event.fields);
    const result = this.#insertEvent.run(
      event.time,
      event.indexedAt,
      event.host,
      event.eventId,
      event.sourcetype,
      JSON.stringify(event.meta),
      fields,
    );
    const id = Number(result.lastInsertRowid);
    this.#indexMarkers(id, fields);
    return id;
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

  /** The rows of a SELECT on `events` (compile-local.ts: one pair's, or a batch's UNION), its parameters numbered. */
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
