import type { FieldMatch, TelemetryProbe, TelemetryPattern, TelemetryQuery } from '../core/index.js';
import { isIP } from 'node:net';
import {
  defenderNumericColumns,
  defenderTables,
  ecsField,
  ecsFieldType,
  splunkSecurity4688,
  sysmonNameFor4688,
} from './field-map.js';
import { resolveValue } from './match.js';

/** One signal compiled for one backend. `skipped` lists patterns the backend cannot express, with why. */
export interface CompiledSignal {
  readonly signal: string;
  readonly query: string | Record<string, unknown>;
  readonly skipped: readonly string[];
}

const isSecurity = (pattern: TelemetryPattern): boolean => pattern.eventIds.every((id) => id >= 1000);
const epoch = (date: Date): number => Math.floor(date.getTime() / 1000);
/**
 * Splunk's `latest` is exclusive and its time modifiers are whole epoch seconds, while `_time` keeps
 * sub-seconds (docs.splunk.com, "Time modifiers": "latest ... the search includes events up to, but not
 * including, that time"). The bound just past `date` keeps its whole last second inside.
 */
const splLatest = (date: Date): number => Math.floor(date.getTime() / 1000) + 1;
/** `_time` compared in the search itself, to the millisecond: flooring would drop the last partial second. */
const splTime = (date: Date): string => (date.getTime() / 1000).toFixed(3);

function windowFor(
  pattern: TelemetryPattern,
  signal: TelemetryProbe,
  query: TelemetryQuery,
): { since: Date; until: Date } | null {
  return (pattern.correlation ?? signal.correlation) === 'window' ? query.processWindow : null;
}

// ------------------------------------------------------------------ Splunk SPL

function splQuote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function splTest(field: string, test: FieldMatch, bindings: Readonly<Record<string, string>>): string {
  const value = resolveValue(test.value, bindings);
  const pattern = { equals: value, contains: `*${value}*`, startswith: `${value}*`, endswith: `*${value}` }[
    test.op
  ];
  return `${field}=${splQuote(pattern)}`;
}

/**
 * Splunk: Sysmon from XmlWinEventLog (Sysmon field names), 4688 from WinEventLog:Security (the add-on's
 * names). Values match case-insensitively in search; the marker is a bare term, a cheap lexicon lookup.
 */
export function compileSpl(signal: TelemetryProbe, query: TelemetryQuery): CompiledSignal {
  return { signal: signal.id, query: splSearch(splBranches(signal, query), query), skipped: [] };
}

/** Every probe of a poll in one search (siem-apis.md 1.4); rows are classified by signals/classify.ts. */
export function compileSplBatch(query: TelemetryQuery, index = '*'): string {
  return splSearch(
    query.signals.flatMap((signal) => splBranches(signal, query)),
    query,
    index,
  );
}

function splSearch(branches: readonly string[], query: TelemetryQuery, index = '*'): string {
  const host = `(host=${splQuote(query.host)} OR host=${splQuote(`${query.host}.*`)})`;
  return `search index=${index} earliest=${epoch(query.since)} latest=${splLatest(query.until)} ${host} (${branches.join(' OR ')})`;
}

function splBranches(signal: TelemetryProbe, query: TelemetryQuery): string[] {
  return signal.telemetry.map((pattern) => {
    const security = isSecurity(pattern);
    const source = security
      ? 'source="WinEventLog:Security"'
      : 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"';
    const tests = Object.entries(pattern.match).map(([name, test]) =>
      splTest(security ? (splunkSecurity4688[name] ?? name) : name, test, query.bindings),
    );
    const window = windowFor(pattern, signal, query);
    const correlation = window
      ? [`_time>=${splTime(window.since)}`, `_time<=${splTime(window.until)}`]
      : [splQuote(query.marker)];
    return `(${[source, `EventCode IN (${pattern.eventIds.join(', ')})`, ...correlation, ...tests].join(' ')})`;
  });
}

// ------------------------------------------------------------------ Microsoft Sentinel KQL

function kqlString(value: string): string {
  // Verbatim strings keep backslashes; a double quote is doubled.
  return `@"${value.replaceAll('"', '""')}"`;
}

function kqlTest(
  column: string,
  test: FieldMatch,
  bindings: Readonly<Record<string, string>>,
  defender = false,
): string {
  if (defender && defenderNumericColumns.has(column)) {
    // A number column: compared as a number; a value that is no number (an unbound `none`) matches nothing.
    if (test.op !== 'equals') throw new Error(`${column} is a number column: only equals compiles`);
    const number = resolveValue(test.value, bindings);
    return /^\d+$/.test(number) ? `${column} == ${number}` : 'false';
  }
  const value = kqlString(resolveValue(test.value, bindings));
  const op = { equals: '=~', contains: 'contains', startswith: 'startswith', endswith: 'endswith' }[test.op];
  return `${column} ${op} ${value}`;
}

function kqlTime(since: Date, until: Date, column = 'TimeGenerated'): string {
  return `${column} between (datetime(${since.toISOString()}) .. datetime(${until.toISOString()}))`;
}

/**
 * Sentinel: Sysmon through the `Sysmon` parser function (Sysmon field names over the Event table),
 * Security 4688 from SecurityEvent, and the Defender `Device*` tables where an event type maps.
 */
export function compileKql(signal: TelemetryProbe, query: TelemetryQuery): CompiledSignal {
  const { parts, skipped } = kqlParts(signal, query);
  return { signal: signal.id, query: kqlUnion(parts), skipped };
}

/** Every probe of a poll in one `union` (siem-apis.md 1.4); rows are classified by signals/classify.ts. */
export function compileKqlBatch(query: TelemetryQuery): string {
  return kqlUnion([...new Set(query.signals.flatMap((signal) => kqlParts(signal, query).parts))]);
}

function kqlUnion(parts: readonly string[]): string {
  return `union isfuzzy=true\n  (${parts.join('),\n  (')})`;
}

function kqlParts(signal: TelemetryProbe, query: TelemetryQuery): { parts: string[]; skipped: string[] } {
  const skipped: string[] = [];
  const parts: string[] = [];
  const host = (column: string): string =>
    `(${column} =~ ${kqlString(query.host)} or ${column} startswith ${kqlString(`${query.host}.`)})`;
  for (const pattern of signal.telemetry) {
    const window = windowFor(pattern, signal, query);
    const time = window ? kqlTime(window.since, window.until) : kqlTime(query.since, query.until);
    const tests = (map: (name: string) => string, defender = false) =>
      Object.entries(pattern.match).map(([name, test]) => kqlTest(map(name), test, query.bindings, defender));
    if (isSecurity(pattern)) {
      parts.push(
        `SecurityEvent | where EventID in (${pattern.eventIds.join(', ')}) and ${host('Computer')} and ${time} and ${tests((n) => n).join(' and ')}`,
      );
      continue;
    }
    parts.push(
      `Sysmon | where EventID in (${pattern.eventIds.join(', ')}) and ${host('Computer')} and ${time} and ${tests((n) => n).join(' and ')}`,
    );
    for (const eventId of pattern.eventIds) {
      const defender = defenderTables[eventId];
      const unmapped = Object.keys(pattern.match).filter((name) => defender?.columns[name] === undefined);
      if (!defender || unmapped.length > 0) {
        skipped.push(
          `Defender: Sysmon ${eventId} ${defender ? `field(s) ${unmapped.join(', ')}` : 'events'} have no advanced-hunting equivalent`,
        );
        continue;
      }
      const action = defender.actionType === undefined ? '' : ` and ActionType == "${defender.actionType}"`;
      // PhEventId says which Sysmon event the row stands for, so its columns can be read back by name.
      parts.push(
        `${defender.table} | where ${host('DeviceName')} and ${kqlTime(window?.since ?? query.since, window?.until ?? query.until, 'Timestamp')}${action} and ${tests((n) => defender.columns[n] ?? n, true).join(' and ')} | extend PhEventId = ${String(eventId)}`,
      );
    }
  }
  return { parts, skipped };
}

// ------------------------------------------------------------------ Elasticsearch DSL over ECS

function wildcardValue(test: FieldMatch, bindings: Readonly<Record<string, string>>): string {
  const escaped = resolveValue(test.value, bindings).replace(/[\\*?]/g, (c) => `\\${c}`);
  return { equals: escaped, contains: `*${escaped}*`, startswith: `${escaped}*`, endswith: `*${escaped}` }[
    test.op
  ];
}

/** Matches no document: what an unbound or malformed value on a typed field compiles to (never a 400). */
const esNothing = { bool: { must_not: [{ match_all: {} }] } };

/** `ip` and `long` fields take exact terms only; Elasticsearch would reject a wildcard (HTTP 400). */
function esTypedTerm(
  field: string,
  type: 'ip' | 'long',
  test: FieldMatch,
  bindings: Readonly<Record<string, string>>,
): Record<string, unknown> {
  if (test.op !== 'equals') throw new Error(`${field} is an ECS ${type} field: only equals compiles`);
  const value = resolveValue(test.value, bindings);
  const valid = type === 'ip' ? isIP(value) !== 0 : /^\d+$/.test(value);
  return valid ? { term: { [field]: value } } : esNothing;
}

function range(since: Date, until: Date): Record<string, unknown> {
  return { range: { '@timestamp': { gte: since.toISOString(), lte: until.toISOString() } } };
}

/** Elasticsearch: ECS fields from Winlogbeat / Elastic Agent, case-insensitive wildcards, one bool query. */
export function compileEs(signal: TelemetryProbe, query: TelemetryQuery): CompiledSignal {
  return { signal: signal.id, query: esSearch(esShould(signal, query), query), skipped: [] };
}

/** Every probe of a poll in one `_search` body; hits are classified by signals/classify.ts. */
export function compileEsBatch(query: TelemetryQuery): Record<string, unknown> {
  return esSearch(
    query.signals.flatMap((signal) => esShould(signal, query)),
    query,
  );
}

function esShould(signal: TelemetryProbe, query: TelemetryQuery): Record<string, unknown>[] {
  return signal.telemetry.map((pattern) => {
    const window = windowFor(pattern, signal, query);
    const filters: Record<string, unknown>[] = [{ terms: { 'event.code': pattern.eventIds.map(String) } }];
    if (window) filters.push(range(window.since, window.until));
    for (const [name, test] of Object.entries(pattern.match)) {
      const sysmon = isSecurity(pattern) ? sysmonNameFor4688(name) : name;
      // ECS records 4688 process starts in the same process.* fields as Sysmon 1.
      const field = ecsField(sysmon, isSecurity(pattern) ? 1 : (pattern.eventIds[0] ?? 0));
      if (field === undefined)
        throw new Error(
          `no ECS field for ${name} (Sysmon ${pattern.eventIds.join('/')}) in src/signals/field-map.ts`,
        );
      const type = ecsFieldType(sysmon, isSecurity(pattern) ? 1 : (pattern.eventIds[0] ?? 0));
      filters.push(
        type === undefined
          ? { wildcard: { [field]: { value: wildcardValue(test, query.bindings), case_insensitive: true } } }
          : esTypedTerm(field, type, test, query.bindings),
      );
    }
    return { bool: { filter: filters } };
  });
}

function esSearch(
  should: readonly Record<string, unknown>[],
  query: TelemetryQuery,
): Record<string, unknown> {
  return {
    query: {
      bool: {
        filter: [
          range(query.since, query.until),
          {
            bool: {
              should: [
                { term: { 'host.name': { value: query.host, case_insensitive: true } } },
                { prefix: { 'host.name': { value: `${query.host}.`, case_insensitive: true } } },
              ],
              minimum_should_match: 1,
            },
          },
        ],
        should,
        minimum_should_match: 1,
      },
    },
  };
}
