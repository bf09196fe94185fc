import { BlockList, isIP } from 'node:net';
import { fieldMap } from '../signals/field-map.js';
import type { SigmaRule } from './rule.js';
import { expandPlaceholders, type Placeholders } from './placeholders.js';
import { categoriesElsewhere, categorySources, serviceChannels } from './taxonomy.js';

/** A flat event with Sysmon field names plus EventID and Channel. */
export type FlatEvent = Readonly<Record<string, unknown>>;
type Predicate = (event: FlatEvent) => boolean;

const tacticIds: Readonly<Record<string, string>> = {
  'initial-access': 'TA0001',
  execution: 'TA0002',
  persistence: 'TA0003',
  'privilege-escalation': 'TA0004',
  'defense-evasion': 'TA0005',
  'credential-access': 'TA0006',
  discovery: 'TA0007',
  'lateral-movement': 'TA0008',
  collection: 'TA0009',
  exfiltration: 'TA0010',
  'command-and-control': 'TA0011',
  impact: 'TA0040',
};

/** A Sigma rule's `attack.*` tags as ATT&CK IDs: attack.t1218.003 -> T1218.003, attack.defense-evasion -> TA0005. */
export function attackIds(tags: readonly string[]): string[] {
  return tags.flatMap((tag) => {
    const name = /^attack\.(.+)$/i.exec(tag)?.[1]?.toLowerCase().replaceAll('_', '-');
    if (name === undefined) return [];
    if (/^(t\d{4}(\.\d{3})?|ta\d{4}|g\d{4}|s\d{4})$/.test(name)) return [name.toUpperCase()];
    const tactic = tacticIds[name];
    return tactic === undefined ? [] : [tactic];
  });
}

/**
 * A literal that a field's text (as `haystack` gives it, lower-cased) must hold for a part of a rule to match:
 * equal to it, start or end with it, or contain it. Only ever derived from the same values the matcher uses.
 */
export interface Need {
  readonly field: string;
  readonly kind: 'eq' | 'prefix' | 'suffix' | 'contains';
  readonly text: string;
}

/**
 * A rule (or a part of it) can match an event only if at least one of these needs holds; `null` when no such
 * literal is known (a regex, `not`, a null value, keywords), so the part may match anything.
 */
export type Needs = readonly Need[] | null;

/** Which events a rule's logsource admits: a channel (`null`: any channel) and, unless `null`, these event ids. */
export interface SourceScope {
  readonly channel: string | null;
  readonly eventIds: readonly number[] | null;
}

export interface CompiledRule {
  readonly id: string;
  /** The rule's `name`, by which correlation rules may refer to it. */
  readonly name?: string;
  readonly title: string;
  readonly level: string;
  readonly tags: readonly string[];
  /** Every (channel, event id) the logsource admits; `matches` is false on any other event. */
  readonly scopes: readonly SourceScope[];
  /** What an event must contain for `matches` to be true (see Need); the rule index reads it. */
  readonly needs: Needs;
  matches(event: FlatEvent): boolean;
}

/** Raised for a rule we cannot evaluate faithfully. A refused rule is never evaluated approximately. */
export class SigmaUnsupportedError extends Error {
  override readonly name = 'SigmaUnsupportedError';
}

const isSecurity4688 = (event: FlatEvent): boolean =>
  event.Channel === 'Security' && Number(event.EventID) === 4688;

/**
 * Rules are written against Sysmon's names; process_creation also matches Security 4688, whose fields are
 * read through the shared field map (Image -> NewProcessName, ParentImage -> ParentProcessName, ...).
 */
const security4688Names = new Map(
  fieldMap.flatMap((m) =>
    m.security4688 === undefined ? [] : [[m.sysmon.toLowerCase(), m.security4688] as const],
  ),
);

const security4688Scope: SourceScope = { channel: 'Security', eventIds: [4688] };

/**
 * The channels and event ids a rule's logsource admits (sigma/taxonomy.ts). A rule with only `product:
 * windows` admits every channel; `process_creation` is Sysmon 1 and Security 4688 (read through the field
 * map); a category with a service keeps the category's sources on that service's channels.
 */
function logsourceScopes(rule: SigmaRule): SourceScope[] {
  const { product, category, service } = rule.logsource;
  const problems: string[] = [];
  if (product !== undefined && product !== 'windows') problems.push(`logsource product "${product}"`);
  const channels = service === undefined ? null : (serviceChannels[service] ?? null);
  if (service !== undefined && channels === null) problems.push(`logsource service "${service}"`);
  let scopes: SourceScope[] = [];
  if (category === undefined) {
    scopes =
      channels === null
        ? [{ channel: null, eventIds: null }]
        : channels.map((channel) => ({ channel, eventIds: null }));
  } else {
    const source = categorySources[category];
    const elsewhere = categoriesElsewhere[category];
    if (source === undefined)
      problems.push(
        elsewhere === undefined
          ? `logsource category "${category}"`
          : `logsource category "${category}" (its events come from ${elsewhere}, not an event log)`,
      );
    else {
      scopes = source.channels.map((channel) => ({ channel, eventIds: source.eventIds }));
      if (category === 'process_creation') scopes.push(security4688Scope);
      if (channels !== null) {
        scopes = scopes.filter((scope) => scope.channel !== null && channels.includes(scope.channel));
        if (scopes.length === 0 && service !== undefined)
          problems.push(`logsource category "${category}" with service "${service}"`);
      }
    }
  }
  if (problems.length > 0) throw new SigmaUnsupportedError(problems.join(', '));
  return scopes;
}

function scopePredicate(scopes: readonly SourceScope[]): Predicate {
  return (event) =>
    scopes.some(
      (scope) =>
        (scope.channel === null || event.Channel === scope.channel) &&
        (scope.eventIds === null || scope.eventIds.includes(Number(event.EventID))),
    );
}

// ------------------------------------------------------------------ values

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Sigma wildcards: `*` and `?`, with `\*`, `\?` and `\\` as escapes; a lone `\` is literal. */
function wildcardSource(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const ch = value.charAt(i);
    const next = value.charAt(i + 1);
    if (ch === '\\' && (next === '*' || next === '?' || next === '\\')) {
      out += escapeRegExp(next);
      i += 1;
    } else if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += escapeRegExp(ch);
  }
  return out;
}

/** The literal text between a Sigma value's wildcards, escapes resolved as wildcardSource resolves them. */
function literalFragments(value: string): string[] {
  const fragments: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i += 1) {
    const ch = value.charAt(i);
    const next = value.charAt(i + 1);
    if (ch === '\\' && (next === '*' || next === '?' || next === '\\')) {
      current += next;
      i += 1;
    } else if (ch === '*' || ch === '?') {
      fragments.push(current);
      current = '';
    } else current += ch;
  }
  fragments.push(current);
  return fragments;
}

/** Matching modifiers, value transformations, and the rest; anything else is refused by name. */
const transforms = new Set(['windash', 'base64', 'base64offset', 'wide', 'utf16le', 'utf16be', 'utf16']);
const numeric = new Set(['lt', 'lte', 'gt', 'gte']);
const supportedModifiers = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'exists',
  'cased',
  'cidr',
  'fieldref',
  // Only as placeholders.ts leaves it: on a field whose placeholder expanded to no value.
  'expand',
  ...numeric,
  ...transforms,
]);

/** A field's value as the rules read it: Sysmon names, mapped for Security 4688, case-insensitive. */
export function fieldValue(event: FlatEvent, field: string): unknown {
  const name = isSecurity4688(event) ? (security4688Names.get(field.toLowerCase()) ?? field) : field;
  if (name in event) return event[name];
  registerNames(event);
  for (const spelling of spellings.get(name.toLowerCase()) ?? [])
    if (spelling in event) return event[spelling];
  return undefined;
}

// Every spelling of a field name seen in any event, by its lower case, so that a lookup that misses checks
// a few spellings instead of re-scanning the event's names: with thousands of rules most lookups miss.
// An event's names are registered once, on its first miss. (An event with two names that differ only in
// case gives the spelling seen first in any event, not necessarily its own first.)
const spellings = new Map<string, string[]>();
const registered = new WeakSet<FlatEvent>();
function registerNames(event: FlatEvent): void {
  if (registered.has(event)) return;
  registered.add(event);
  for (const key of Object.keys(event)) {
    const lower = key.toLowerCase();
    const known = spellings.get(lower);
    if (known === undefined) spellings.set(lower, [key]);
    else if (!known.includes(key)) known.push(key);
  }
}

/** windash: every `-` or `/` that starts an option may also be written as `/`, `-`, en dash, em dash or horizontal bar. */
const dashes = ['-', '/', '\u2013', '\u2014', '\u2015'];
function windash(value: string): string[] {
  const positions = [...value.matchAll(/(?<![\w])[-/](?=\w)/g)].map((m) => m.index);
  if (positions.length > 4)
    throw new SigmaUnsupportedError(`windash on a value with ${positions.length} options (more than 4)`);
  let variants = [value];
  for (const position of positions) {
    variants = variants.flatMap((v) =>
      dashes.map((d) => `${v.slice(0, position)}${d}${v.slice(position + 1)}`),
    );
  }
  return variants;
}

/** base64offset: the three encodings of the value at byte offsets 0, 1 and 2, trimmed to the stable middle. */
function base64offset(bytes: Buffer): string[] {
  const starts = [0, 2, 3];
  const ends = [0, -3, -2];
  return [0, 1, 2].map((i) => {
    const encoded = Buffer.concat([Buffer.alloc(i, 0x20), bytes]).toString('base64');
    const end = ends[(bytes.length + i) % 3] ?? 0;
    return encoded.slice(starts[i], end === 0 ? undefined : end);
  });
}

/** Applies the value-transforming modifiers in order, giving every string the field may contain. */
function transformValue(text: string, modifiers: readonly string[]): string[] {
  let values = [text];
  let bytes: Buffer[] | null = null;
  for (const modifier of modifiers) {
    if (modifier === 'windash') values = values.flatMap(windash);
    else if (modifier === 'wide' || modifier === 'utf16le')
      bytes = values.map((v) => Buffer.from(v, 'utf16le'));
    else if (modifier === 'utf16be') bytes = values.map((v) => Buffer.from(v, 'utf16le').swap16());
    // utf16: a byte order mark, then little-endian (Sigma modifiers appendix).
    else if (modifier === 'utf16')
      bytes = values.map((v) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(v, 'utf16le')]));
    else if (modifier === 'base64' || modifier === 'base64offset') {
      const source = bytes ?? values.map((v) => Buffer.from(v, 'utf8'));
      values = modifier === 'base64' ? source.map((b) => b.toString('base64')) : source.flatMap(base64offset);
      bytes = null;
    }
  }
  if (bytes !== null)
    throw new SigmaUnsupportedError('wide/utf16le/utf16be/utf16 without base64 or base64offset after it');
  return values;
}

/** The text a value matcher compares: strings as they are, numbers and booleans spelt out, the rest as JSON. */
export function haystack(actual: unknown): string {
  return typeof actual === 'string'
    ? actual
    : typeof actual === 'number' || typeof actual === 'boolean'
      ? String(actual)
      : JSON.stringify(actual);
}

type ValueNeed = Omit<Need, 'field'> | null;
type ValueMatcher = { test: (actual: unknown) => boolean; need: ValueNeed };

/**
 * What a matched value must hold, lower-cased: the value's literal text anchored as its modifiers anchor it.
 * Non-ASCII text gets none, since a case-insensitive regex and toLowerCase fold some letters differently.
 */
function valueNeed(value: string, anchoredStart: boolean, anchoredEnd: boolean): ValueNeed {
  const fragments = literalFragments(value);
  if (fragments.some((f) => !/^[\p{ASCII}]*$/u.test(f))) return null;
  const lower = fragments.map((f) => f.toLowerCase());
  const [first = '', last = ''] = [lower[0], lower[lower.length - 1]];
  if (lower.length === 1) {
    if (anchoredStart && anchoredEnd) return { kind: 'eq', text: first };
    if (first.length === 0) return null;
    if (anchoredStart) return { kind: 'prefix', text: first };
    if (anchoredEnd) return { kind: 'suffix', text: first };
    return { kind: 'contains', text: first };
  }
  if (anchoredStart && first.length > 0) return { kind: 'prefix', text: first };
  if (anchoredEnd && last.length > 0) return { kind: 'suffix', text: last };
  const longest = lower.reduce((a, b) => (b.length > a.length ? b : a), '');
  return longest.length === 0 ? null : { kind: 'contains', text: longest };
}

/**
 * A Sigma `re` value as a RegExp. Sigma regexes are case-sensitive unless the i flag is given; m and s are the
 * usual flags. A leading (?i), (?m), (?s) or a mix of them (PCRE's inline flags, which JavaScript's RegExp
 * lacks) sets them too. What cannot be compiled is refused, naming `where`.
 */
export function sigmaRegex(text: string, modifiers: readonly string[], where: string): RegExp {
  const inline = /^\(\?([a-zA-Z]+)\)/.exec(text);
  const inlineFlags = (inline?.[1] ?? '').split(/(?:)/u);
  const unknown = inlineFlags.filter((f) => !['i', 'm', 's'].includes(f));
  if (unknown.length > 0)
    throw new SigmaUnsupportedError(`regex inline flag "${unknown.join('')}" in ${where}`);
  const pattern = inline === null ? text : text.slice(inline[0].length);
  const flags = ['i', 'm', 's'].filter((f) => modifiers.includes(f) || inlineFlags.includes(f)).join('');
  try {
    return new RegExp(pattern, flags);
  } catch (error) {
    throw new SigmaUnsupportedError(
      `regular expression ${JSON.stringify(text)} in ${where}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function valueMatcher(raw: unknown, modifiers: readonly string[], where: string): ValueMatcher[] {
  if (raw === null)
    return [{ test: (actual) => actual === undefined || actual === null || actual === '', need: null }];
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new SigmaUnsupportedError(`value type ${typeof raw} in ${where}`);
  }
  const text = String(raw);
  const present = (regex: RegExp) => (actual: unknown) =>
    actual !== undefined && actual !== null && regex.test(haystack(actual));
  if (modifiers.includes('re')) return [{ test: present(sigmaRegex(text, modifiers, where)), need: null }];
  if (['i', 'm', 's'].some((f) => modifiers.includes(f)))
    throw new SigmaUnsupportedError(`regex flags without re in ${where}`);
  const flags = modifiers.includes('cased') ? 's' : 'is';
  const anyStart = modifiers.includes('contains') || modifiers.includes('endswith');
  const anyEnd = modifiers.includes('contains') || modifiers.includes('startswith');
  // One matcher per transformed variant (windash, base64offset), so each variant brings its own need.
  return transformValue(text, modifiers).map((value) => {
    const regex = new RegExp(`${anyStart ? '' : '^'}${wildcardSource(value)}${anyEnd ? '' : '$'}`, flags);
    return {
      test: literalTest(value, regex, !anyStart, !anyEnd, modifiers.includes('cased')) ?? present(regex),
      need: valueNeed(value, !anyStart, !anyEnd),
    };
  });
}

/**
 * The same test as the value's regex, by string comparison, for a value without wildcards (most values in
 * real rules): thousands of rules made the regex scans the largest cost of evaluation. Case-insensitive
 * comparison lower-cases both sides, which equals the regex's `i` for an ASCII literal except on the two
 * letters that lower-case into ASCII (Kelvin sign, dotted capital I); a field holding one goes to the regex.
 */
function literalTest(
  value: string,
  regex: RegExp,
  anchoredStart: boolean,
  anchoredEnd: boolean,
  cased: boolean,
): ((actual: unknown) => boolean) | null {
  const fragments = literalFragments(value);
  const [literal] = fragments;
  if (fragments.length !== 1 || literal === undefined || !/^[\p{ASCII}]*$/u.test(literal)) return null;
  const wanted = cased ? literal : literal.toLowerCase();
  const compare =
    anchoredStart && anchoredEnd
      ? (text: string) => text === wanted
      : anchoredStart
        ? (text: string) => text.startsWith(wanted)
        : anchoredEnd
          ? (text: string) => text.endsWith(wanted)
          : (text: string) => text.includes(wanted);
  return (actual) => {
    if (actual === undefined || actual === null) return false;
    const text = haystack(actual);
    if (cased) return compare(text);
    if (text.includes('\u212A') || text.includes('\u0130')) return regex.test(text);
    return compare(lowerCase(text));
  };
}

// The last few strings lower-cased: the rules that reach an event read the same few fields again and again.
const lowered: [string, string][] = [];
function lowerCase(text: string): string {
  for (const [raw, lower] of lowered) if (raw === text) return lower;
  const lower = text.toLowerCase();
  if (lowered.length >= 8) lowered.pop();
  lowered.unshift([text, lower]);
  return lower;
}

/** A Sigma `cidr` value's test; a value that is no IPv4 or IPv6 network is refused, naming `where`. */
export function cidrMatcher(raw: unknown, where: string): (actual: unknown) => boolean {
  const [network = '', prefix = ''] = String(raw).split('/');
  const type = isIP(network) === 6 ? 'ipv6' : isIP(network) === 4 ? 'ipv4' : null;
  const bits = Number(prefix);
  if (type === null || !Number.isInteger(bits))
    throw new SigmaUnsupportedError(`cidr value ${JSON.stringify(raw)} in ${where}`);
  const list = new BlockList();
  list.addSubnet(network, bits, type);
  return (actual) => {
    if (typeof actual !== 'string') return false;
    const address = actual.replace(/^::ffff:/i, '');
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 6 ? 'ipv6' : 'ipv4');
  };
}

/** A compiled part of a rule: its test, and the needs of any event it can match. */
interface Part {
  readonly test: Predicate;
  readonly needs: Needs;
}

/** Any of these parts: its needs are all of theirs, or none if one of them has none. */
function anyOf(parts: readonly Part[]): Part {
  const needs = parts.some((p) => p.needs === null) ? null : parts.flatMap((p) => p.needs ?? []);
  return { test: (event) => parts.some((p) => p.test(event)), needs };
}

/** How costly a set of needs is to look up and how often it lets an event through: lower is better. */
function needsCost(needs: readonly Need[]): number {
  return needs.reduce((sum, n) => sum + (n.kind === 'contains' ? 3 : 1) + (n.text.length < 4 ? 4 : 0), 0);
}

/** All of these parts: any one part's needs suffice, so the cheapest is kept. */
function allOf(parts: readonly Part[]): Part {
  let needs: Needs = null;
  for (const part of parts)
    if (part.needs !== null && (needs === null || needsCost(part.needs) < needsCost(needs)))
      needs = part.needs;
  return { test: (event) => parts.every((p) => p.test(event)), needs };
}

function fieldPredicate(spec: string, raw: unknown, where: string): Part {
  const [field = '', ...modifiers] = spec.split('|');
  const unknown = modifiers.filter((m) => !supportedModifiers.has(m));
  if (unknown.length > 0)
    throw new SigmaUnsupportedError(
      `${unknown.length === 1 ? 'modifier' : 'modifiers'} ${unknown.map((m) => `"${m}"`).join(', ')} in ${where}`,
    );
  if (modifiers.includes('fieldref')) return fieldRefPredicate(field, raw, modifiers, where);
  if (modifiers.some((m) => numeric.has(m))) return numericPredicate(field, raw, modifiers, where);
  if (modifiers.includes('exists')) {
    const want = raw === true;
    return { test: (event) => (fieldValue(event, field) !== undefined) === want, needs: null };
  }
  const values = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (values.length === 0 && modifiers.includes('expand')) return { test: () => false, needs: null };
  if (values.length === 0) throw new SigmaUnsupportedError(`empty value list in ${where}`);
  const perValue: Part[] = values.map((value) => {
    // A value the engine cannot honour refuses the rule (compileRule gathers the reasons).
    const matchers = modifiers.includes('cidr')
      ? [{ test: cidrMatcher(value, where), need: null }]
      : valueMatcher(value, modifiers, where);
    const test = (actual: unknown): boolean => matchers.some((m) => m.test(actual));
    const needs = matchers.some((m) => m.need === null)
      ? null
      : matchers.flatMap((m) => (m.need === null ? [] : [{ field, ...m.need }]));
    return { test: (event) => test(fieldValue(event, field)), needs };
  });
  // Each value reads the field again; a field is looked up once per value, which keeps the parts independent.
  return modifiers.includes('all') ? allOf(perValue) : anyOf(perValue);
}

/** `fieldref`: the field's value compared with another field's, as a value would be (startswith, cased, ...). */
function fieldRefPredicate(field: string, raw: unknown, modifiers: readonly string[], where: string): Part {
  const others = modifiers.filter(
    (m) => !['fieldref', 'contains', 'startswith', 'endswith', 'cased', 'all'].includes(m),
  );
  if (others.length > 0)
    throw new SigmaUnsupportedError(`fieldref with ${others.map((m) => `"${m}"`).join(', ')} in ${where}`);
  const refs = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (refs.length === 0 || !refs.every((r): r is string => typeof r === 'string'))
    throw new SigmaUnsupportedError(`fieldref to something other than field names in ${where}`);
  const cased = modifiers.includes('cased');
  const fold = (value: unknown): string => (cased ? haystack(value) : haystack(value).toLowerCase());
  const compare = modifiers.includes('contains')
    ? (a: string, b: string) => a.includes(b)
    : modifiers.includes('startswith')
      ? (a: string, b: string) => a.startsWith(b)
      : modifiers.includes('endswith')
        ? (a: string, b: string) => a.endsWith(b)
        : (a: string, b: string) => a === b;
  const parts = refs.map((ref): Part => ({
    test: (event) => {
      const actual = fieldValue(event, field);
      const other = fieldValue(event, ref);
      if (actual === undefined || actual === null || other === undefined || other === null) return false;
      return compare(fold(actual), fold(other));
    },
    needs: null,
  }));
  return modifiers.includes('all') ? allOf(parts) : anyOf(parts);
}

/** lt, lte, gt, gte: the field read as a number; a field that is not one never matches. */
function numericPredicate(field: string, raw: unknown, modifiers: readonly string[], where: string): Part {
  const [comparison, ...rest] = modifiers;
  if (rest.length > 0 || comparison === undefined)
    throw new SigmaUnsupportedError(`${modifiers.map((m) => `"${m}"`).join(' with ')} in ${where}`);
  const values = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const limits = values.map((v) =>
    typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN,
  );
  if (limits.length === 0 || limits.some((n) => Number.isNaN(n)))
    throw new SigmaUnsupportedError(`"${comparison}" with a value that is not a number in ${where}`);
  const holds = (n: number, limit: number): boolean =>
    comparison === 'lt'
      ? n < limit
      : comparison === 'lte'
        ? n <= limit
        : comparison === 'gt'
          ? n > limit
          : n >= limit;
  return {
    test: (event) => {
      const actual = fieldValue(event, field);
      const n =
        typeof actual === 'number'
          ? actual
          : typeof actual === 'string' && actual.trim() !== ''
            ? Number(actual)
            : NaN;
      return !Number.isNaN(n) && limits.some((limit) => holds(n, limit));
    },
    needs: null,
  };
}

/**
 * Collects what a rule uses that we cannot evaluate, so that a refusal names all of it at once: a part that
 * is refused is noted and stands in as never matching, and compileRule throws with every note.
 */
type Attempt = (work: () => Part) => Part;
const never: Part = { test: () => false, needs: [] };

function mapPredicate(map: Readonly<Record<string, unknown>>, where: string, attempt: Attempt): Part {
  return allOf(Object.entries(map).map(([spec, raw]) => attempt(() => fieldPredicate(spec, raw, where))));
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function selectionPredicate(name: string, body: unknown, attempt: Attempt): Part {
  const where = `selection "${name}"`;
  if (isPlainObject(body)) return mapPredicate(body, where, attempt);
  if (Array.isArray(body)) {
    if (body.every(isPlainObject)) return anyOf(body.map((map) => mapPredicate(map, where, attempt)));
    if (body.every((item) => typeof item === 'string')) {
      // Keywords search every field, so they name no field to look a literal up in.
      const matchers = body.flatMap((item) => valueMatcher(item, ['contains'], where));
      return {
        test: (event) => Object.values(event).some((value) => matchers.some((m) => m.test(value))),
        needs: null,
      };
    }
  }
  throw new SigmaUnsupportedError(`the shape of ${where}`);
}

// ------------------------------------------------------------------ condition

function tokenize(condition: string): string[] {
  return condition.match(/\(|\)|[^\s()]+/g) ?? [];
}

function expandPattern(pattern: string, names: readonly string[]): string[] {
  if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
  const regex = new RegExp(`^${wildcardSource(pattern)}$`);
  const found = names.filter((n) => regex.test(n));
  if (found.length === 0)
    throw new SigmaUnsupportedError(`condition pattern "${pattern}" names no selection`);
  return found;
}

/** Recursive descent with Sigma's precedence: or < and < not < x-of < parentheses. */
function parseCondition(condition: string, selections: ReadonlyMap<string, Part>): Part {
  if (condition.includes('|'))
    throw new SigmaUnsupportedError(`aggregation pipes in conditions ("${condition}")`);
  const tokens = tokenize(condition);
  const names = [...selections.keys()];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const next = (): string => {
    const token = tokens[pos];
    if (token === undefined) throw new SigmaUnsupportedError(`condition "${condition}" ends early`);
    pos += 1;
    return token;
  };
  const primary = (): Part => {
    const token = next();
    if (token === '(') {
      const inner = orExpr();
      if (next() !== ')') throw new SigmaUnsupportedError(`unbalanced parentheses in "${condition}"`);
      return inner;
    }
    if (token === '1' || token === 'all' || token === 'any') {
      if (next() !== 'of') throw new SigmaUnsupportedError(`"${token}" without "of" in "${condition}"`);
      const parts = expandPattern(next(), names).map((n) => selections.get(n) ?? never);
      return token === 'all' ? allOf(parts) : anyOf(parts);
    }
    if (token === '|') throw new SigmaUnsupportedError('aggregation pipes in conditions');
    const selection = selections.get(token);
    if (!selection) throw new SigmaUnsupportedError(`condition names unknown selection "${token}"`);
    return selection;
  };
  const notExpr = (): Part => {
    if (peek() === 'not') {
      next();
      const inner = notExpr();
      // What a negated part needs is unknowable from literals: an event without them matches.
      return { test: (e) => !inner.test(e), needs: null };
    }
    return primary();
  };
  const andExpr = (): Part => {
    let left = notExpr();
    while (peek() === 'and') {
      next();
      left = allOf([left, notExpr()]);
    }
    return left;
  };
  const orExpr = (): Part => {
    let left = andExpr();
    while (peek() === 'or') {
      next();
      left = anyOf([left, andExpr()]);
    }
    return left;
  };

  const result = orExpr();
  if (pos !== tokens.length)
    throw new SigmaUnsupportedError(`unexpected "${tokens[pos] ?? ''}" in "${condition}"`);
  return result;
}

/**
 * Compiles a rule once into a predicate; throws SigmaUnsupportedError naming, in one sentence, every feature
 * it cannot honour.
 */
export function compileRule(
  rule: SigmaRule,
  options: { readonly placeholders?: Placeholders } = {},
): CompiledRule {
  const problems: string[] = [];
  const attempt = <T>(work: () => T, fallback: T): T => {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof SigmaUnsupportedError)) throw error;
      if (!problems.includes(error.message)) problems.push(error.message);
      return fallback;
    }
  };
  const part: Attempt = (work) => attempt(work, never);
  const { condition, timeframe, ...written } = rule.detection;
  if (timeframe !== undefined) problems.push('timeframe');
  const { selections: rest, missing } = expandPlaceholders(written, options.placeholders ?? {});
  for (const name of missing)
    problems.push(
      `placeholder %${name}% with no values (set placeholders.${name} in the local SIEM's options)`,
    );
  const selections = new Map<string, Part>();
  for (const [name, body] of Object.entries(rest))
    selections.set(
      name,
      part(() => selectionPredicate(name, body, part)),
    );
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (!conditions.every((c): c is string => typeof c === 'string')) problems.push('a non-string condition');
  const detection = anyOf(
    conditions
      .filter((c): c is string => typeof c === 'string')
      .map((c) => part(() => parseCondition(c, selections))),
  );
  const scopes = attempt(() => logsourceScopes(rule), []);
  if (problems.length > 0) throw new SigmaUnsupportedError(oneSentence(problems));
  const inScope = scopePredicate(scopes);
  return {
    id: rule.id,
    ...(rule.name === undefined ? {} : { name: rule.name }),
    title: rule.title,
    level: rule.level,
    tags: rule.tags,
    scopes,
    needs: detection.needs,
    matches: (event) => inScope(event) && detection.test(event),
  };
}

/** "a", "a and b", "a, b and c". */
export function oneSentence(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}
