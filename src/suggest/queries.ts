import { isSecurityEventId } from '../core/index.js';
import {
  esFieldFilter,
  kqlTest,
  splSecuritySources,
  splSysmonSource,
  splTest,
} from '../signals/compile-backends.js';
import type { Atom } from './atoms.js';
import type { RuleSource } from './rule.js';

/** A suggested rule as a standing search in each SIEM's language: no host, no time, no run marker. */
export interface StandingQueries {
  readonly spl: string;
  readonly kql: string;
  /** An Elasticsearch `query` (DSL over ECS), or null with why when a field has no ECS name. */
  readonly es: Record<string, unknown> | null;
  readonly notes: readonly string[];
}

const noBindings = {};

/**
 * The rule's tests compiled by the same functions as the harness's own SIEM queries (signals/compile-backends.ts),
 * so a field is named, quoted and typed in each language exactly as the queries that found the events.
 */
export function standingQueries(source: RuleSource, atoms: readonly Atom[]): StandingQueries {
  const security = isSecurityEventId(source.eventId);
  const notes: string[] = [];
  return {
    spl: spl(source, atoms, security),
    kql: kql(source, atoms, security),
    es: es(source, atoms, notes),
    notes,
  };
}

function spl(source: RuleSource, atoms: readonly Atom[], security: boolean): string {
  const branch = (from: string, name: (field: string) => string): string =>
    `(${[from, `EventCode IN (${source.eventIds.join(', ')})`, ...atoms.map((a) => splTest(name(a.field), a, noBindings))].join(' ')})`;
  const branches = security
    ? [
        branch(splSecuritySources.xml.source, splSecuritySources.xml.name),
        branch(splSecuritySources.classic.source, splSecuritySources.classic.name),
      ]
    : [branch(splSysmonSource, (name) => name)];
  return `search index=* ${branches.length === 1 ? (branches[0] ?? '') : `(${branches.join(' OR ')})`}`;
}

function kql(source: RuleSource, atoms: readonly Atom[], security: boolean): string {
  const tests = atoms.map((a) => kqlTest(a.field, a, noBindings, security ? 'table' : 'sysmon'));
  return `${security ? 'SecurityEvent' : 'Sysmon'} | where EventID in (${source.eventIds.join(', ')}) and ${tests.join(' and ')}`;
}

function es(source: RuleSource, atoms: readonly Atom[], notes: string[]): Record<string, unknown> | null {
  const pattern = { eventIds: source.eventIds };
  try {
    const filters = atoms.map((a) => esFieldFilter(a.field, a, pattern, noBindings));
    return { bool: { filter: [{ terms: { 'event.code': source.eventIds.map(String) } }, ...filters] } };
  } catch (error) {
    notes.push(`Elasticsearch: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}
