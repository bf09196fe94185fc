import { BlockList, isIP } from 'node:net';
import { fieldMap } from '../signals/field-map.js';
import type { SigmaRule } from './rule.js';

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

/** Which events a rule's logsource admits: a channel and, unless `null`, one of these event ids. */
export interface SourceScope {
  readonly channel: string;
  readonly eventIds: readonly number[] | null;
}

export interface CompiledRule {
  readonly id: string;
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

const sysmonChannel = 'Microsoft-Windows-Sysmon/Operational';

/** logsource category -> Sysmon event ids (siem-apis.md 7.5). */
const categoryEventIds: Readonly<Record<string, readonly number[]>> = {
  process_creation: [1],
  network_connection: [3],
  image_load: [7],
  process_access: [10],
  file_event: [11],
  registry_event: [12, 13, 14],
  registry_add: [12],
  registry_set: [13],
  registry_delete: [12],
  dns_query: [22],
};

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

/** The channels and event ids a rule's logsource admits; the predicate is derived from them. */
function logsourceScopes(rule: SigmaRule): SourceScope[] {
  const { product, category, service } = rule.logsource;
  if (product !== undefined && product !== 'windows')
    throw new SigmaUnsupportedError(`logsource product "${product}"`);
  if (service !== undefined && service !== 'sysmon' && service !== 'security') {
    throw new SigmaUnsupportedError(`logsource service "${service}"`);
  }
  if (category === undefined) {
    if (service === 'security') return [{ channel: 'Security', eventIds: null }];
    return [{ channel: sysmonChannel, eventIds: null }];
  }
  const ids = categoryEventIds[category];
  if (ids === undefined) throw new SigmaUnsupportedError(`logsource category "${category}"`);
  const sysmon: SourceScope = { channel: sysmonChannel, eventIds: ids };
  if (category === 'process_creation' && service !== 'sysmon') {
    return service === 'security' ? [security4688Scope] : [sysmon, security4688Scope];
  }
  if (service === 'security')
    throw new SigmaUnsupportedError(`logsource category "${category}" with service "security"`);
  return [sysmon];
}

function scopePredicate(scopes: readonly SourceScope[]): Predicate {
  return (event) =>
    scopes.some(
      (scope) =>
        event.Channel === scope.channel &&
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
const transforms = new Set(['windash', 'base64', 'base64offset', 'wide', 'utf16le']);
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
    else if (modifier === 'base64' || modifier === 'base64offset') {
      const source = bytes ?? values.map((v) => Buffer.from(v, 'utf8'));
      values = modifier === 'base64' ? source.map((b) => b.toString('base64')) : source.flatMap(base64offset);
      bytes = null;
    }
  }
  if (bytes !== null) throw new SigmaUnsupportedError('wide/utf16le without base64 or base64offset after it');
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

function valueMatcher(raw: unknown, modifiers: readonly string[], where: string): ValueMatcher[] {
  if (raw === null)
    return [{ test: (actual) => actual === undefined || actual === null || actual === '', need: null }];
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new SigmaUnsupportedError(`value type ${typeof raw} in ${where}`);
  }
  const text = String(raw);
  const present = (regex: RegExp) => (actual: unknown) =>
    actual !== undefined && actual !== null && regex.test(haystack(actual));
  if (modifiers.includes('re')) {
    // Sigma regexes are case-sensitive unless the i flag is given; m and s are the usual flags.
    const flags = ['i', 'm', 's'].filter((f) => modifiers.includes(f)).join('');
    try {
      return [{ test: present(new RegExp(text, flags)), need: null }];
    } catch (error) {
      throw new SigmaUnsupportedError(
        `regular expression ${JSON.stringify(text)} in ${where}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
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

function cidrMatcher(raw: unknown, where: string): (actual: unknown) => boolean {
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
  for (const modifier of modifiers) {
    if (!supportedModifiers.has(modifier))
      throw new SigmaUnsupportedError(`modifier "${modifier}" in ${where}`);
  }
  if (modifiers.includes('exists')) {
    const want = raw === true;
    return { test: (event) => (fieldValue(event, field) !== undefined) === want, needs: null };
  }
  const values = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (values.length === 0) throw new SigmaUnsupportedError(`empty value list in ${where}`);
  const perValue: Part[] = values.map((value) => {
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

function mapPredicate(map: Readonly<Record<string, unknown>>, where: string): Part {
  return allOf(Object.entries(map).map(([spec, raw]) => fieldPredicate(spec, raw, where)));
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function selectionPredicate(name: string, body: unknown): Part {
  const where = `selection "${name}"`;
  if (isPlainObject(body)) return mapPredicate(body, where);
  if (Array.isArray(body)) {
    if (body.every(isPlainObject)) return anyOf(body.map((map) => mapPredicate(map, where)));
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
  const never: Part = { test: () => false, needs: [] };

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

/** Compiles a rule once into a predicate; throws SigmaUnsupportedError naming the feature it cannot honour. */
export function compileRule(rule: SigmaRule): CompiledRule {
  const { condition, ...rest } = rule.detection;
  if (rest.timeframe !== undefined) throw new SigmaUnsupportedError('timeframe');
  const selections = new Map<string, Part>();
  for (const [name, body] of Object.entries(rest)) selections.set(name, selectionPredicate(name, body));
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (!conditions.every((c): c is string => typeof c === 'string')) {
    throw new SigmaUnsupportedError('a non-string condition');
  }
  const detection = anyOf(conditions.map((c) => parseCondition(c, selections)));
  const scopes = logsourceScopes(rule);
  const inScope = scopePredicate(scopes);
  return {
    id: rule.id,
    title: rule.title,
    level: rule.level,
    tags: rule.tags,
    scopes,
    needs: detection.needs,
    matches: (event) => inScope(event) && detection.test(event),
  };
}
