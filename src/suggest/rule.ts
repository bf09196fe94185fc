import { createHash } from 'node:crypto';
import { isSecurityEventId } from '../core/index.js';
import { compileRule, type CompiledRule } from '../sigma/engine.js';
import { SigmaRule } from '../sigma/rule.js';
import type { Atom } from './atoms.js';

/** Where a suggested rule looks: one event type, as a Sigma logsource. */
export interface RuleSource {
  /** The event the rule was built from. */
  readonly eventId: number;
  /** Every event id the logsource admits (registry_event: 12, 13 and 14): the compiled queries search all. */
  readonly eventIds: readonly number[];
  readonly logsource: Readonly<Record<string, string>>;
}

/**
 * The Sigma logsource for an event id (Sigma taxonomy, as sigma/taxonomy.ts reads it): the Sysmon categories
 * our signals use, and the Security log for 4688. null: an event type we do not write rules for.
 */
export function sourceFor(eventId: number): RuleSource | null {
  if (eventId === 4688)
    return { eventId, eventIds: [4688], logsource: { product: 'windows', service: 'security' } };
  const category = sysmonCategories[eventId];
  if (category === undefined) return null;
  const eventIds = Object.entries(sysmonCategories)
    .filter(([, c]) => c === category)
    .map(([id]) => Number(id));
  return { eventId, eventIds, logsource: { product: 'windows', category } };
}

/** How reports name an event type: `Sysmon 12`, `Security 4688`. */
export const eventLabel = (eventId: number): string =>
  `${isSecurityEventId(eventId) ? 'Security' : 'Sysmon'} ${String(eventId)}`;

const sysmonCategories: Readonly<Record<number, string>> = {
  1: 'process_creation',
  3: 'network_connection',
  7: 'image_load',
  8: 'create_remote_thread',
  10: 'process_access',
  11: 'file_event',
  12: 'registry_event',
  13: 'registry_event',
  14: 'registry_event',
  22: 'dns_query',
};

/**
 * A value as a Sigma string that means exactly the value: `*` and `?` escaped, and a backslash doubled only
 * where Sigma would read it as an escape (before `\`, `*` or `?`); a lone backslash is literal (Sigma
 * specification, "Wildcards" and "Escaping").
 */
export function sigmaLiteral(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const ch = value.charAt(i);
    const next = value.charAt(i + 1);
    if (ch === '*' || ch === '?') out += `\\${ch}`;
    else if (ch === '\\' && (next === '\\' || next === '*' || next === '?')) out += '\\\\';
    else out += ch;
  }
  return out;
}

/** The selection map: `Field|op: value`, several values of one field and op under `|all`. */
export function selectionOf(source: RuleSource, atoms: readonly Atom[]): Record<string, unknown> {
  const grouped = new Map<string, string[]>();
  for (const atom of atoms) {
    const key = atom.op === 'equals' ? atom.field : `${atom.field}|${atom.op}`;
    grouped.set(key, [...(grouped.get(key) ?? []), sigmaLiteral(atom.value)]);
  }
  const selection: Record<string, unknown> = isSecurityEventId(source.eventId)
    ? { EventID: source.eventId }
    : {};
  for (const [key, values] of grouped) {
    if (values.length === 1) selection[key] = values[0];
    else selection[`${key}|all`] = values;
  }
  return selection;
}

/** The rule's text-independent identity: a UUID from its logsource and selection, the same on every run. */
function ruleId(source: RuleSource, selection: Record<string, unknown>): string {
  const hex = createHash('sha256')
    .update(JSON.stringify([source.logsource, selection]))
    .digest('hex');
  // A version-4-shaped UUID (variant bits set), so Sigma tooling that checks the id's form accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((parseInt(hex.charAt(16), 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A suggested rule as a Sigma document, ready to be written as YAML and compiled by our engine. */
export function sigmaDocument(
  source: RuleSource,
  atoms: readonly Atom[],
  about: { readonly title: string; readonly description: string; readonly date: string },
): SigmaRule {
  const selection = selectionOf(source, atoms);
  return SigmaRule.parse({
    title: about.title,
    id: ruleId(source, selection),
    status: 'experimental',
    description: about.description,
    author: 'purple-harness (suggested)',
    date: about.date,
    tags: ['attack.defense-evasion', 'attack.t1218.003'],
    logsource: source.logsource,
    detection: { selection, condition: 'selection' },
    falsepositives: ['Connection Manager profiles your software distribution installs the same way'],
    level: 'medium',
  });
}

/** The rule compiled by the same engine the local SIEM evaluates rules with. */
export function compiled(document: SigmaRule): CompiledRule {
  return compileRule(document);
}
