import type { SigmaRule } from './rule.js';

/** A flat event with Sysmon field names plus EventID and Channel. */
export type FlatEvent = Readonly<Record<string, unknown>>;
type Predicate = (event: FlatEvent) => boolean;

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
  dns_query: [22],
};

function logsourcePredicate(rule: SigmaRule): Predicate {
  const { product, category, service } = rule.logsource;
  if (product !== undefined && product !== 'windows') {
    throw new SigmaUnsupportedError(`logsource product "${product}"`);
  }
  if (service !== undefined && service !== 'sysmon')
    throw new SigmaUnsupportedError(`logsource service "${service}"`);
  if (category === undefined) {
    return (event) => event.Channel === sysmonChannel;
  }
  const ids = categoryEventIds[category];
  if (ids === undefined) throw new SigmaUnsupportedError(`logsource category "${category}"`);
  return (event) => event.Channel === sysmonChannel && ids.includes(Number(event.EventID));
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

const supportedModifiers = new Set(['contains', 'startswith', 'endswith', 'all', 're', 'exists', 'cased']);

function fieldValue(event: FlatEvent, field: string): unknown {
  if (field in event) return event[field];
  const lower = field.toLowerCase();
  for (const [key, value] of Object.entries(event)) if (key.toLowerCase() === lower) return value;
  return undefined;
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
  const flags = modifiers.includes('cased') ? '' : 'i';
  let regex: RegExp;
  if (modifiers.includes('re')) {
    regex = new RegExp(text);
  } else {
    const body = wildcardSource(text);
    const start = modifiers.includes('contains') || modifiers.includes('endswith') ? '' : '^';
    const end = modifiers.includes('contains') || modifiers.includes('startswith') ? '' : '$';
    regex = new RegExp(`${start}${body}${end}`, `${flags}s`);
  }
  return (actual) => {
    if (actual === undefined || actual === null) return false;
    const haystack = typeof actual === 'string' ? actual : JSON.stringify(actual);
    return regex.test(haystack);
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
  const matchers = values.map((value) => valueMatcher(value, modifiers, where));
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
