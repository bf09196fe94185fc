import type { FieldMatch, TelemetryQuery } from '../core/index.js';
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
  const column = `lower(json_extract(fields, '$.${name}'))`;
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

/**
 * Compiles every pending signal into one query (OR of signals), filtered by host, marker and event time.
 * Rows are classified per signal by the caller with the same definitions.
 */
export function compileLocal(query: TelemetryQuery): LocalQuery {
  const params: (string | number)[] = [];
  const perSignal = query.signals.map((signal) => {
    const ids = signal.telemetry.eventIds.map((id) => {
      params.push(id);
      return '?';
    });
    const tests = Object.entries(signal.telemetry.match).map(([name, test]) =>
      fieldTest(name, test, query.bindings, params),
    );
    return `(event_id IN (${ids.join(', ')})${tests.map((t) => ` AND ${t}`).join('')})`;
  });
  const where = [
    "(lower(host) = lower(?) OR lower(host) LIKE lower(?) || '.%')",
    'instr(fields, ?) > 0',
    'time >= ?',
    'time <= ?',
    perSignal.length > 0 ? `(${perSignal.join(' OR ')})` : '0',
  ].join(' AND ');
  return {
    where,
    params: [
      query.host,
      query.host,
      query.marker,
      query.since.toISOString(),
      query.until.toISOString(),
      ...params,
    ],
  };
}
