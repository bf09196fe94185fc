import type { Correlation, FieldMatch, TelemetryPattern, TelemetryQuery } from '../core/index.js';
import { resolveValue } from './match.js';

/** A parameterised SQLite WHERE clause over the local store's `events` table. */
export interface LocalQuery {
  readonly where: string;
  readonly params: readonly (string | number)[];
}

const fieldName = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Binds values as numbered parameters (`?N`), one per distinct value: a batch of hundreds of pairs repeats
 * the catalog's constants in every pair, and SQLite allows at most 32,766 parameters per statement.
 */
type Bind = (value: string | number) => string;

function binder(params: (string | number)[]): Bind {
  const index = new Map<string | number, number>();
  return (value) => {
    let at = index.get(value);
    if (at === undefined) {
      params.push(value);
      at = params.length;
      index.set(value, at);
    }
    return `?${String(at)}`;
  };
}

function fieldTest(
  name: string,
  test: FieldMatch,
  bindings: Readonly<Record<string, string>>,
  bind: Bind,
): string {
  if (!fieldName.test(name)) throw new Error(`signal field name is not a plain identifier: ${name}`);
  const column = `lower(CAST(json_extract(fields, '$.${name}') AS TEXT))`;
  const value = bind(resolveValue(test.value, bindings).toLowerCase());
  switch (test.op) {
    case 'equals':
      return `${column} = ${value}`;
    case 'contains':
      return `instr(${column}, ${value}) > 0`;
    case 'startswith':
      return `substr(${column}, 1, length(${value})) = ${value}`;
    case 'endswith':
      return `substr(${column}, -length(${value})) = ${value}`;
  }
}

/**
 * One pattern: its event ids first (an integer column: most of a host's rows stop there), then the
 * correlation, then the field tests, which parse the event's JSON.
 */
function patternClause(
  pattern: TelemetryPattern,
  correlation: string,
  bindings: Readonly<Record<string, string>>,
  bind: Bind,
): string {
  const ids = pattern.eventIds.map(bind);
  const tests = Object.entries(pattern.match).map(([name, test]) => fieldTest(name, test, bindings, bind));
  return `(event_id IN (${ids.join(', ')}) AND ${correlation}${tests.map((t) => ` AND ${t}`).join('')})`;
}

/**
 * A host name's first label, lower-cased, in SQL: every name the host clause matches shares it. The store
 * indexes `events` on this expression of `host` (with time), so a search names its host's rows without
 * reading the others; SQLite uses such an index only for the very same expression.
 */
export function hostKey(value: string): string {
  return `lower(CASE WHEN instr(${value}, '.') > 0 THEN substr(${value}, 1, instr(${value}, '.') - 1) ELSE ${value} END)`;
}

/**
 * The host by name or FQDN (its exact prefix: LIKE would read `_` and `%` in a host name as wildcards);
 * `host` is the parameter that holds the name (three plain `?` binds when absent).
 */
export function localHostClause(column = 'host', host?: string): string {
  const [a, b, c] = host === undefined ? ['?', '?', '?'] : [host, host, host];
  return `(lower(${column}) = lower(${a}) OR substr(lower(${column}), 1, length(${b}) + 1) = lower(${c}) || '.')`;
}

/**
 * Compiles every pending signal into one query (OR of signals), filtered by host and event time, and per
 * signal by its correlation: the run marker in the event, or cmstp's own time window.
 * Rows are classified per signal by the caller with the same definitions.
 */
export function compileLocal(query: TelemetryQuery): LocalQuery {
  const params: (string | number)[] = [];
  return { where: whereOf(query, binder(params)), params };
}

function whereOf(query: TelemetryQuery, bind: Bind): string {
  const host = bind(query.host);
  const window = `time >= ${bind(query.since.toISOString())} AND time <= ${bind(query.until.toISOString())}`;
  const correlate = (kind: Correlation): string =>
    kind === 'marker'
      ? `instr(fields, ${bind(query.marker)}) > 0`
      : `time >= ${bind(query.processWindow.since.toISOString())} AND time <= ${bind(query.processWindow.until.toISOString())}`;
  const perSignal = query.signals.map((signal) => {
    const patterns = signal.telemetry.map((pattern) => {
      return patternClause(
        pattern,
        correlate(pattern.correlation ?? signal.correlation),
        query.bindings,
        bind,
      );
    });
    return `(${patterns.join(' OR ')})`;
  });
  return [
    `${hostKey('host')} = ${hostKey(host)}`,
    localHostClause('host', host),
    window,
    perSignal.length > 0 ? `(${perSignal.join(' OR ')})` : '0',
  ].join(' AND ');
}

/**
 * Many pairs' queries as one statement: each pair's search, joined by UNION (a row two pairs share comes
 * once), sharing one set of parameters (the catalog's constants bound once). Each part is answered from its
 * own host's rows through the index; an OR of the pairs would test every row against every pair. Rows are
 * classified per pair by the caller.
 */
export function compileLocalBatch(queries: readonly TelemetryQuery[]): {
  sql: string;
  params: (string | number)[];
} {
  const params: (string | number)[] = [];
  const bind = binder(params);
  const parts = queries.map((q) => `SELECT * FROM events WHERE ${whereOf(q, bind)}`);
  return { sql: `${parts.join(' UNION ')} ORDER BY time, id`, params };
}
