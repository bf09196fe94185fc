import {
  isSecurityPattern,
  type FieldMatch,
  type TelemetryProbe,
  type TelemetryPattern,
  type TelemetryQuery,
  type TimeWindow,
} from '../core/index.js';
import { isIP } from 'node:net';
import {
  asimParserName,
  asimSchemas,
  defenderNumericColumns,
  defenderTables,
  sysmonNumericFields,
  ecsField,
  ecsFieldType,
  splunkSecurity4688,
  sysmonNameFor4688,
  type AsimSchema,
  type SysmonSource,
} from './field-map.js';
import { resolveValue } from './match.js';

/** One signal compiled for one backend. `skipped` lists patterns the backend cannot express, with why. */
export interface CompiledSignal {
  readonly signal: string;
  readonly query: string | Record<string, unknown>;
  readonly skipped: readonly string[];
}

const isSecurity = isSecurityPattern;
/** Splunk's time modifiers are whole epoch seconds; `earliest` is inclusive, so the floor keeps it all. */
export const splEarliest = (date: Date): number => Math.floor(date.getTime() / 1000);
/**
 * Splunk's `latest` is exclusive and its time modifiers are whole epoch seconds, while `_time` keeps
 * sub-seconds (docs.splunk.com, "Time modifiers": "latest ... the search includes events up to, but not
 * including, that time"). The bound just past `date` keeps its whole last second inside.
 */
export const splLatest = (date: Date): number => Math.floor(date.getTime() / 1000) + 1;
/** `_time` compared in the search itself, to the millisecond: flooring would drop the last partial second. */
const splTime = (date: Date): string => (date.getTime() / 1000).toFixed(3);

function windowFor(
  pattern: TelemetryPattern,
  signal: TelemetryProbe,
  query: TelemetryQuery,
): TimeWindow | null {
  return (pattern.correlation ?? signal.correlation) === 'window' ? query.processWindow : null;
}

// ------------------------------------------------------------------ Splunk SPL

function splQuote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function splTest(field: string, test: FieldMatch, bindings: Readonly<Record<string, string>>): string {
  const value = resolveValue(test.value, bindings);
  const pattern = { equals: value, contains: `*${value}*`, startswith: `${value}*`, endswith: `*${value}` }[
    test.op
  ];
  return `${field}=${splQuote(pattern)}`;
}

/** How the Security log reaches Splunk: XML (field names as in the event), classic text, or either. */
export type SplunkSecurityRendering = 'xml' | 'classic' | 'both';

/**
 * Splunk: Sysmon from XmlWinEventLog (Sysmon field names); 4688 from XmlWinEventLog:Security (the event's
 * own names) and/or WinEventLog:Security (the Windows add-on's classic names). Values match
 * case-insensitively in search; the marker is a bare term, a cheap lexicon lookup.
 */
export function compileSpl(
  signal: TelemetryProbe,
  query: TelemetryQuery,
  rendering: SplunkSecurityRendering = 'both',
): CompiledSignal {
  return { signal: signal.id, query: splSearch(splBranches(signal, query, rendering), query), skipped: [] };
}

/** Every probe of a poll in one search (siem-apis.md 1.4); rows are classified by signals/classify.ts. */
export function compileSplBatch(
  query: TelemetryQuery,
  index = '*',
  rendering: SplunkSecurityRendering = 'both',
): string {
  return splSearch(
    query.signals.flatMap((signal) => splBranches(signal, query, rendering)),
    query,
    index,
  );
}

/**
 * The host as its short name or its FQDN, in any of `fields`: never a bare prefix, which would also match
 * WIN10-LAB-010 when the host is WIN10-LAB-01.
 */
export function splHost(fields: readonly string[], host: string): string {
  const short = host.split('.')[0] ?? host;
  const names = [...new Set([host, short])];
  return `(${fields.flatMap((field) => names.flatMap((name) => [`${field}=${splQuote(name)}`, `${field}=${splQuote(`${name}.*`)}`])).join(' OR ')})`;
}

function splSearch(branches: readonly string[], query: TelemetryQuery, index = '*'): string {
  return `search index=${index} earliest=${splEarliest(query.since)} latest=${splLatest(query.until)} ${splHost(['host'], query.host)} (${branches.join(' OR ')})`;
}

/** The `source` of each rendering a Windows forwarder can send (Splunk Add-on for Windows and for Sysmon). */
export const splSources = {
  sysmonXml: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational',
  sysmonClassic: 'WinEventLog:Microsoft-Windows-Sysmon/Operational',
  securityXml: 'XmlWinEventLog:Security',
  securityClassic: 'WinEventLog:Security',
} as const;
export const splSysmonSource = `source="${splSources.sysmonXml}"`;
export const splSecuritySources = {
  xml: { source: `source="${splSources.securityXml}"`, name: (name: string) => name },
  classic: {
    source: `source="${splSources.securityClassic}"`,
    name: (name: string) => splunkSecurity4688[name] ?? name,
  },
} as const;

function splBranches(
  signal: TelemetryProbe,
  query: TelemetryQuery,
  rendering: SplunkSecurityRendering,
): string[] {
  return signal.telemetry.flatMap((pattern) => {
    const window = windowFor(pattern, signal, query);
    const correlation = window
      ? [`_time>=${splTime(window.since)}`, `_time<=${splTime(window.until)}`]
      : [splQuote(query.marker)];
    const branch = (source: string, name: (name: string) => string): string => {
      const tests = Object.entries(pattern.match).map(([field, test]) =>
        splTest(name(field), test, query.bindings),
      );
      return `(${[source, `EventCode IN (${pattern.eventIds.join(', ')})`, ...correlation, ...tests].join(' ')})`;
    };
    if (!isSecurity(pattern)) return [branch(splSysmonSource, (name) => name)];
    const renderings = rendering === 'both' ? (['xml', 'classic'] as const) : [rendering];
    return renderings.map((r) => branch(splSecuritySources[r].source, splSecuritySources[r].name));
  });
}

// ------------------------------------------------------------------ Microsoft Sentinel KQL

export function kqlString(value: string): string {
  // Verbatim strings keep backslashes; a double quote is doubled.
  return `@"${value.replaceAll('"', '""')}"`;
}

/**
 * Where a KQL column comes from: a table with documented types (SecurityEvent, all strings for 4688), a
 * Defender table (some columns long/int), or the `Sysmon` parser function, whose field types depend on the
 * parser (v11.0 types ids long and the rest string; the all-versions parser leaves every field dynamic), so
 * its fields are converted explicitly and bind under either.
 */
export type KqlSource = 'table' | 'defender' | 'sysmon';

export function kqlTest(
  column: string,
  test: FieldMatch,
  bindings: Readonly<Record<string, string>>,
  source: KqlSource,
): string {
  const numeric =
    (source === 'defender' && defenderNumericColumns.has(column)) ||
    (source === 'sysmon' && sysmonNumericFields.has(column));
  if (numeric) {
    // A number: compared as a number (`=~` with a string is a type error); a value that is no number (an
    // unbound `none`) matches nothing.
    if (test.op !== 'equals') throw new Error(`${column} is a number column: only equals compiles`);
    const number = resolveValue(test.value, bindings);
    const operand = source === 'sysmon' ? `tolong(${column})` : column;
    return /^\d+$/.test(number) ? `${operand} == ${number}` : 'false';
  }
  const value = kqlString(resolveValue(test.value, bindings));
  const op = { equals: '=~', contains: 'contains', startswith: 'startswith', endswith: 'endswith' }[test.op];
  return `${source === 'sysmon' ? `tostring(${column})` : column} ${op} ${value}`;
}

function kqlTime({ since, until }: TimeWindow, column = 'TimeGenerated'): string {
  return `${column} between (datetime(${since.toISOString()}) .. datetime(${until.toISOString()}))`;
}

/**
 * Sentinel: Sysmon through the `Sysmon` parser function (Sysmon field names over the Event table),
 * Security 4688 from SecurityEvent, and the Defender `Device*` tables where an event type maps.
 */
export function compileKql(
  signal: TelemetryProbe,
  query: TelemetryQuery,
  sysmon: SysmonSource = 'function',
): CompiledSignal {
  const { parts, skipped } = kqlParts(signal, query, sysmon);
  return { signal: signal.id, query: kqlUnion(parts), skipped };
}

/** Every probe of a poll in one `union` (siem-apis.md 1.4); rows are classified by signals/classify.ts. */
export function compileKqlBatch(query: TelemetryQuery, sysmon: SysmonSource = 'function'): string {
  return kqlUnion([...new Set(query.signals.flatMap((signal) => kqlParts(signal, query, sysmon).parts))]);
}

/** The ASIM schema that carries all of a Sysmon pattern's event ids and every field it tests, if one does. */
export function asimSchemaFor(pattern: TelemetryPattern): AsimSchema | null {
  const schema = asimSchemas[pattern.eventIds[0] ?? 0];
  return schema !== undefined &&
    pattern.eventIds.every((id) => asimSchemas[id] === schema) &&
    Object.keys(pattern.match).every((name) => schema.fields[name] !== undefined)
    ? schema
    : null;
}

/**
 * A Sysmon pattern through an ASIM parser, when one schema carries all its event ids and every field it
 * tests: rows of the Sysmon source parser only (the unifying parser also returns Defender and Security
 * events, which have their own legs), projected to their Sysmon names so they are read and classified as
 * the `Sysmon` function's rows are.
 */
function asimLeg(
  pattern: TelemetryPattern,
  sysmon: SysmonSource,
  where: { readonly host: string; readonly time: string; readonly tests: () => string[] },
): string | null {
  const schema = asimSchemaFor(pattern);
  if (schema === null) return null;
  const types = pattern.eventIds.map((id) => `"${String(id)}"`).join(', ');
  const tests = where.tests();
  const fields = Object.entries(schema.fields).map(([name, column]) => `${name} = ${column}`);
  return `${asimParserName(schema, sysmon)} | where EventProduct == "Sysmon" and EventOriginalType in (${types}) and ${where.host} and ${where.time} | ${kqlIngested} | project TimeGenerated, Type, PhIngested, EventID = toint(EventOriginalType), Computer = Dvc, ${fields.join(', ')}${tests.length > 0 ? ` | where ${tests.join(' and ')}` : ''}`;
}

/** When the row became searchable (its evidence's `indexedAt`), taken before any `project` can lose it. */
const kqlIngested = 'extend PhIngested = ingestion_time()';

/**
 * Each leg packs its row into one property bag: a union whose legs type a same-named column differently
 * (ProcessId is long in the v11.0 Sysmon parser and Defender, string in SecurityEvent; every field is dynamic
 * in the all-versions parser) returns one column per type (`ProcessId_long`, `ProcessId_string`), and the
 * event would lose its own field names.
 */
function kqlUnion(parts: readonly string[]): string {
  return `union isfuzzy=true\n  (${parts.map((part) => `${part} | project PhRow = pack_all()`).join('),\n  (')})`;
}

function kqlParts(
  signal: TelemetryProbe,
  query: TelemetryQuery,
  sysmon: SysmonSource,
): { parts: string[]; skipped: string[] } {
  const skipped: string[] = [];
  const parts: string[] = [];
  const host = (column: string): string =>
    `(${column} =~ ${kqlString(query.host)} or ${column} startswith ${kqlString(`${query.host}.`)})`;
  for (const pattern of signal.telemetry) {
    const window = windowFor(pattern, signal, query);
    const time = kqlTime(window ?? query);
    const tests = (map: (name: string) => string, source: KqlSource) =>
      Object.entries(pattern.match).map(([name, test]) => kqlTest(map(name), test, query.bindings, source));
    if (isSecurity(pattern)) {
      parts.push(
        `SecurityEvent | where ${[`EventID in (${pattern.eventIds.join(', ')})`, host('Computer'), time, ...tests((n) => n, 'table')].join(' and ')} | ${kqlIngested}`,
      );
      continue;
    }
    const asim =
      sysmon === 'function'
        ? null
        : asimLeg(pattern, sysmon, { host: host('Dvc'), time, tests: () => tests((n) => n, 'sysmon') });
    if (sysmon !== 'function' && asim === null)
      skipped.push(
        `ASIM: Sysmon ${pattern.eventIds.join('/')} ${Object.keys(pattern.match).join(', ')} has no ASIM schema: read from the Sysmon function`,
      );
    parts.push(
      asim ??
        `Sysmon | where ${[`EventID in (${pattern.eventIds.join(', ')})`, host('Computer'), time, ...tests((n) => n, 'sysmon')].join(' and ')} | ${kqlIngested}`,
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
        `${defender.table} | where ${[`${host('DeviceName')} and ${kqlTime(window ?? query, 'Timestamp')}${action}`, ...tests((n) => defender.columns[n] ?? n, 'defender')].join(' and ')} | extend PhEventId = ${String(eventId)}, PhIngested = ingestion_time()`,
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

function range({ since, until }: TimeWindow): Record<string, unknown> {
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

/**
 * One field test as an ECS filter: a case-insensitive wildcard, or an exact term on an `ip` or `long` field.
 * Throws for a field with no ECS name in src/signals/field-map.ts.
 */
export function esFieldFilter(
  name: string,
  test: FieldMatch,
  pattern: Pick<TelemetryPattern, 'eventIds'>,
  bindings: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const security = isSecurity(pattern);
  const sysmon = security ? sysmonNameFor4688(name) : name;
  // ECS records 4688 process starts in the same process.* fields as Sysmon 1.
  const eventId = security ? 1 : (pattern.eventIds[0] ?? 0);
  const field = ecsField(sysmon, eventId);
  if (field === undefined)
    throw new Error(
      `no ECS field for ${name} (Sysmon ${pattern.eventIds.join('/')}) in src/signals/field-map.ts`,
    );
  const type = ecsFieldType(sysmon, eventId);
  return type === undefined
    ? { wildcard: { [field]: { value: wildcardValue(test, bindings), case_insensitive: true } } }
    : esTypedTerm(field, type, test, bindings);
}

function esShould(signal: TelemetryProbe, query: TelemetryQuery): Record<string, unknown>[] {
  return signal.telemetry.map((pattern) => {
    const window = windowFor(pattern, signal, query);
    const filters: Record<string, unknown>[] = [{ terms: { 'event.code': pattern.eventIds.map(String) } }];
    if (window) filters.push(range(window));
    for (const [name, test] of Object.entries(pattern.match))
      filters.push(esFieldFilter(name, test, pattern, query.bindings));
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
          range(query),
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
