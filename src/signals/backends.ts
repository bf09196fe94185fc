import {
  isSecurityPattern,
  clockSkewPadMs,
  activityWindow,
  type QueryDialect,
  type TelemetryProbe,
  type TelemetryQuery,
} from '../core/index.js';
import { signalCatalog } from './catalog.js';
import { asimSchemaFor, compileEs, compileKql, compileSpl, type CompiledSignal } from './compile-backends.js';
import { asimParserName, type SysmonSource } from './field-map.js';
import { compileLocal } from './compile-local.js';
import { canaryProbe } from './canary.js';

/** Every backend a signal compiles for, by the name `signals --siem` takes. */
export const backends = {
  local: (signal: TelemetryProbe, query: TelemetryQuery): CompiledSignal => {
    const compiled = compileLocal({ ...query, signals: [signal] });
    return { signal: signal.id, query: { sql: compiled.sql, params: [...compiled.params] }, skipped: [] };
  },
  splunk: compileSpl,
  sentinel: compileKql,
  elastic: compileEs,
} as const satisfies Record<QueryDialect, unknown>;
export type Backend = keyof typeof backends;

/**
 * An example query: the placeholders a real run binds are shown with sample values, and the window tied to
 * cmstp spans the tuning's TimeWindow when one is given (cmstp itself ran for half a second).
 */
export function exampleQuery(timeWindowMs: number | null = null): TelemetryQuery {
  const cmstpStart = new Date('2026-11-23T12:00:00.000Z');
  const window = activityWindow(cmstpStart.getTime(), cmstpStart.getTime() + 500, timeWindowMs);
  return {
    host: 'WIN10-LAB-01',
    marker: 'ph0123456789ab',
    bindings: {
      marker: 'ph0123456789ab',
      payloadFile: 'ph0123456789ab.inf',
      cmstpPid: '4242',
      payloadHost: 'payload.lab.test',
      payloadIp: '10.20.0.5',
      payloadPort: '8080',
    },
    processWindow: { since: new Date(window.since), until: new Date(window.until) },
    since: new Date(cmstpStart.getTime() - clockSkewPadMs),
    until: new Date(cmstpStart.getTime() + 10 * 60_000),
    signals: [],
  };
}

export function compileAll(backend: Backend): CompiledSignal[] {
  const query = exampleQuery();
  return Object.values(signalCatalog).map((signal) => backends[backend](signal, query));
}

/**
 * What the Sentinel queries read under a Sysmon source (siem/sentinel `sysmon`): each ASIM parser with the
 * columns it must return, and the Sysmon event ids, fields and signals still read from the `Sysmon` function.
 */
export function sentinelSysmonReads(sysmon: SysmonSource): {
  asim: { parser: string; columns: string[] }[];
  sysmonFunction: { signals: string[]; eventIds: number[]; fields: string[] };
} {
  const asim = new Map<string, Set<string>>();
  const signals = new Set<string>();
  const eventIds = new Set<number>();
  const fields = new Set<string>();
  for (const probe of [...Object.values(signalCatalog), canaryProbe])
    for (const pattern of probe.telemetry) {
      if (isSecurityPattern(pattern)) continue;
      const schema = sysmon === 'function' ? null : asimSchemaFor(pattern);
      if (schema === null) {
        signals.add(probe.id);
        for (const id of pattern.eventIds) eventIds.add(id);
        for (const name of Object.keys(pattern.match)) fields.add(name);
        continue;
      }
      const columns = asim.get(asimParserName(schema, sysmon)) ?? new Set<string>();
      // The columns the leg filters on, and every column its Sysmon fields are read from.
      for (const column of ['TimeGenerated', 'Dvc', 'EventProduct', 'EventOriginalType']) columns.add(column);
      for (const expression of Object.values(schema.fields))
        for (const [column] of expression.matchAll(/\b[A-Z]\w*/g)) columns.add(column);
      asim.set(asimParserName(schema, sysmon), columns);
    }
  return {
    asim: [...asim].map(([parser, columns]) => ({ parser, columns: [...columns] })),
    sysmonFunction: {
      signals: [...signals],
      eventIds: [...eventIds].sort((a, b) => a - b),
      fields: [...fields].sort(),
    },
  };
}
