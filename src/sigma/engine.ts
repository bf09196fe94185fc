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

export interface CompiledRule {
  readonly id: string;
  readonly title: string;
  readonly level: string;
  readonly tags: readonly string[];
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

function logsourcePredicate(rule: SigmaRule): Predicate {
  const { product, category, service } = rule.logsource;
  if (product !== undefined && product !== 'windows')
    throw new SigmaUnsupportedError(`logsource product "${product}"`);
  if (service !== undefined && service !== 'sysmon' && service !== 'security') {
    throw new SigmaUnsupportedError(`logsource service "${service}"`);
  }
  if (category === undefined) {
    if (service === 'security') return (event) => event.Channel === 'Security';
    return (event) => event.Channel === sysmonChannel;
  }
  const ids = categoryEventIds[category];
  if (ids === undefined) throw new SigmaUnsupportedError(`logsource category "${category}"`);
  const sysmon = (event: FlatEvent): boolean =>
    event.Channel === sysmonChannel && ids.includes(Number(event.EventID));
  if (category === 'process_creation' && service !== 'sysmon') {
    return service === 'security' ? isSecurity4688 : (event) => sysmon(event) || isSecurity4688(event);
  }
  if (service === 'security')
    throw new SigmaUnsupportedError(`logsource category "${category}" with service "security"`);
  return sysmon;
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

function fieldValue(event: FlatEvent, field: string): unknown {
  const name = isSecurity4688(event) ? (security4688Names.get(field.toLowerCase()) ?? field) : field;
  if (name in event) return event[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(event)) if (key.toLowerCase() === lower) return value;
  return undefined;
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

function valueMatcher(
  raw: unknown,
  modifiers: readonly string[],
  where: string,
): (actual: unknown) => boolean {
  if (raw === null) return (actual) => actual === undefined || actual === null || actual === '';
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new SigmaUnsupportedError(`value type ${typeof raw} in ${where}`);
  }
  const text = String(raw);
  let regexes: RegExp[];
  if (modifiers.includes('re')) {
    // Sigma regexes are case-sensitive unless the i flag is given; m and s are the usual flags.
    const flags = ['i', 'm', 's'].filter((f) => modifiers.includes(f)).join('');
    try {
      regexes = [new RegExp(text, flags)];
    } catch (error) {
      throw new SigmaUnsupportedError(
        `regular expression ${JSON.stringify(text)} in ${where}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  } else {
    if (['i', 'm', 's'].some((f) => modifiers.includes(f)))
      throw new SigmaUnsupportedError(`regex flags without re in ${where}`);
    const flags = modifiers.includes('cased') ? 's' : 'is';
    const anyStart = modifiers.includes('contains') || modifiers.includes('endswith');
    const anyEnd = modifiers.includes('contains') || modifiers.includes('startswith');
    regexes = transformValue(text, modifiers).map(
      (value) => new RegExp(`${anyStart ? '' : '^'}${wildcardSource(value)}${anyEnd ? '' : '$'}`, flags),
    );
  }
  return (actual) => {
    if (actual === undefined || actual === null) return false;
    const haystack =
      typeof actual === 'string'
        ? actual
        : typeof actual === 'number' || typeof actual === 'boolean'
          ? String(actual)
          : JSON.stringify(actual);
    return regexes.some((regex) => regex.test(haystack));
  };
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

function fieldPredicate(spec: string, raw: unknown, where: string): Predicate {
  const [field = '', ...modifiers] = spec.split('|');
  for (const modifier of modifiers) {
    if (!supportedModifiers.has(modifier))
      throw new SigmaUnsupportedError(`modifier "${modifier}" in ${where}`);
  }
  if (modifiers.includes('exists')) {
    const want = raw === true;
    return (event) => (fieldValue(event, field) !== undefined) === want;
  }
  const values = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (values.length === 0) throw new SigmaUnsupportedError(`empty value list in ${where}`);
  const matchers = values.map((value) =>
    modifiers.includes('cidr') ? cidrMatcher(value, where) : valueMatcher(value, modifiers, where),
  );
  const all = modifiers.includes('all');
  return (event) => {
    const actual = fieldValue(event, field);
    return all ? matchers.every((m) => m(actual)) : matchers.some((m) => m(actual));
  };
}

function mapPredicate(map: Readonly<Record<string, unknown>>, where: string): Predicate {
  const parts = Object.entries(map).map(([spec, raw]) => fieldPredicate(spec, raw, where));
  return (event) => parts.every((p) => p(event));
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function selectionPredicate(name: string, body: unknown): Predicate {
  const where = `selection "${name}"`;
  if (isPlainObject(body)) return mapPredicate(body, where);
  if (Array.isArray(body)) {
    if (body.every(isPlainObject)) {
      const maps = body.map((map) => mapPredicate(map, where));
      return (event) => maps.some((m) => m(event));
    }
    if (body.every((item) => typeof item === 'string')) {
      const matchers = body.map((item) => valueMatcher(item, ['contains'], where));
      return (event) => Object.values(event).some((value) => matchers.some((m) => m(value)));
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
function parseCondition(condition: string, selections: ReadonlyMap<string, Predicate>): Predicate {
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

  const primary = (): Predicate => {
    const token = next();
    if (token === '(') {
      const inner = orExpr();
      if (next() !== ')') throw new SigmaUnsupportedError(`unbalanced parentheses in "${condition}"`);
      return inner;
    }
    if (token === '1' || token === 'all' || token === 'any') {
      if (next() !== 'of') throw new SigmaUnsupportedError(`"${token}" without "of" in "${condition}"`);
      const parts = expandPattern(next(), names).map((n) => selections.get(n) ?? (() => false));
      return token === 'all' ? (e) => parts.every((p) => p(e)) : (e) => parts.some((p) => p(e));
    }
    if (token === '|') throw new SigmaUnsupportedError('aggregation pipes in conditions');
    const selection = selections.get(token);
    if (!selection) throw new SigmaUnsupportedError(`condition names unknown selection "${token}"`);
    return selection;
  };
  const notExpr = (): Predicate => {
    if (peek() === 'not') {
      next();
      const inner = notExpr();
      return (e) => !inner(e);
    }
    return primary();
  };
  const andExpr = (): Predicate => {
    let left = notExpr();
    while (peek() === 'and') {
      next();
      const l = left;
      const r = notExpr();
      left = (e) => l(e) && r(e);
    }
    return left;
  };
  const orExpr = (): Predicate => {
    let left = andExpr();
    while (peek() === 'or') {
      next();
      const l = left;
      const r = andExpr();
      left = (e) => l(e) || r(e);
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
  const selections = new Map<string, Predicate>();
  for (const [name, body] of Object.entries(rest)) selections.set(name, selectionPredicate(name, body));
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (!conditions.every((c): c is string => typeof c === 'string')) {
    throw new SigmaUnsupportedError('a non-string condition');
  }
  const parsed = conditions.map((c) => parseCondition(c, selections));
  const source = logsourcePredicate(rule);
  return {
    id: rule.id,
    title: rule.title,
    level: rule.level,
    tags: rule.tags,
    matches: (event) => source(event) && parsed.some((p) => p(event)),
  };
}
