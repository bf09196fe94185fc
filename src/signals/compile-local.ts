import type { Correlation, FieldMatch, TelemetryPattern, TelemetryQuery } from '../core/index.js';
import { resolveValue } from './match.js';

/** A parameterised SQLite WHERE clause over the local store's `events` table. */
export interface LocalQuery {
  readonly where: string;
  readonly params: readonly (string | number)[];
}

const fieldName = /^[A-Za-z][A-Za-z0-9_]*$/;

function fieldTest(
  name: string,
  test: FieldMatch,
  bindings: Readonly<Record<string, string>>,
  params: (string | number)[],
): string {
  if (!fieldName.test(name)) throw new Error(`signal field name is not a plain identifier: ${name}`);
  const column = `lower(CAST(json_extract(fields, '$.${name}') AS TEXT))`;
  const value = resolveValue(test.value, bindings).toLowerCase();
  params.push(value);
  switch (test.op) {
    case 'equals':
      return `${column} = ?`;
    case 'contains':
      return `instr(${column}, ?) > 0`;
    case 'startswith':
      params.push(value);
      return `substr(${column}, 1, length(?)) = ?`;
    case 'endswith':
      params.push(value);
      return `substr(${column}, -length(?)) = ?`;
  }
}

function patternClause(
  pattern: TelemetryPattern,
  bindings: Readonly<Record<string, string>>,
  params: (string | number)[],
): string {
  const ids = pattern.eventIds.map((id) => {
    params.push(id);
    return '?';
  });
  const tests = Object.entries(pattern.match).map(([name, test]) => fieldTest(name, test, bindings, params));
  return `(event_id IN (${ids.join(', ')})${tests.map((t) => ` AND ${t}`).join('')})`;
}

/**
 * The host by name or FQDN (its exact prefix: LIKE would read `_` and `%` in a host name as wildcards);
 * binds the host three times.
 */
export function localHostClause(column = 'host'): string {
  return `(lower(${column}) = lower(?) OR substr(lower(${column}), 1, length(?) + 1) = lower(?) || '.')`;
}

/**
 * Compiles every pending signal into one query (OR of signals), filtered by host and event time, and per
 * signal by its correlation: the run marker in the event, or cmstp's own time window.
 * Rows are classified per signal by the caller with the same definitions.
 */
export function compileLocal(query: TelemetryQuery): LocalQuery {
  const params: (string | number)[] = [
    query.host,
    query.host,
    query.host,
    query.since.toISOString(),
    query.until.toISOString(),
  ];
  const correlate = (kind: Correlation): string => {
    if (kind === 'marker') {
      params.push(query.marker);
      return 'instr(fields, ?) > 0';
    }
    params.push(query.processWindow.since.toISOString(), query.processWindow.until.toISOString());
    return 'time >= ? AND time <= ?';
  };
  const perSignal = query.signals.map((signal) => {
    const patterns = signal.telemetry.map((pattern) => {
      const correlation = correlate(pattern.correlation ?? signal.correlation);
      return `(${correlation} AND ${patternClause(pattern, query.bindings, params)})`;
    });
    return `(${patterns.join(' OR ')})`;
  });
  const where = [
    localHostClause(),
    'time >= ?',
    'time <= ?',
    perSignal.length > 0 ? `(${perSignal.join(' OR ')})` : '0',
  ].join(' AND ');
  return { where, params };
}
