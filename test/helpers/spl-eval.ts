/**
 * An evaluator for the part of Splunk's `search` command the harness sends, written from Splunk's
 * documentation, so the Splunk fake answers a search the way Splunk would and not the way we meant it:
 * - Boolean order (Search Reference, "search": "Boolean expressions"): parentheses, then NOT, then OR, then
 *   AND; juxtaposed terms are ANDed.
 * - `field=value` and `field IN (a, b)` (Search Reference, "search", "Comparison expressions" and "IN"):
 *   field names are case-sensitive, values are not; `*` is a wildcard inside quotes too; a field the event
 *   does not have matches nothing; a multivalue field matches if any value does.
 * - `field>=n` / `field<=n`: numeric comparison (`_time` is epoch seconds with sub-seconds).
 * - Time modifiers (Search Reference, "Time modifiers"): `earliest` inclusive, `latest` exclusive.
 * - A bare or quoted term searches the raw text by its segments (Admin Manual, segmenters.conf: major
 *   breakers such as space and `<>()[]{}|!;,'"*&?+`, minor breakers `/ : = @ . - $ # % \ _`): it matches when
 *   its own segments occur in that order in the event's; never as a substring of a longer segment.
 */
export interface SplEvent {
  readonly time: Date;
  readonly raw: string;
  /** Indexed and extracted fields, including host, source, sourcetype and index. */
  readonly fields: Readonly<Record<string, string | readonly string[]>>;
}

type Node =
  | { kind: 'and' | 'or'; nodes: Node[] }
  | { kind: 'not'; node: Node }
  | { kind: 'compare'; field: string; op: '=' | '!=' | '>=' | '<=' | '>' | '<'; value: string }
  | { kind: 'in'; field: string; values: string[] }
  | { kind: 'term'; value: string };

/** `value` is the unescaped quoted value of a `field="..."` token. */
type Token = { text: string; quoted: boolean; value?: string };

function tokenize(search: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const quoted = (): string => {
    let out = '';
    for (i += 1; i < search.length && search[i] !== '"'; i += 1) {
      if (search[i] === '\\' && i + 1 < search.length) i += 1;
      out += search[i] ?? '';
    }
    if (search[i] !== '"') throw new Error(`Unbalanced quotes in: ${search}`);
    i += 1;
    return out;
  };
  while (i < search.length) {
    const c = search[i] ?? '';
    if (/\s/.test(c)) i += 1;
    else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ text: c, quoted: false });
      i += 1;
    } else if (c === '"') tokens.push({ text: quoted(), quoted: true });
    else {
      let word = '';
      while (i < search.length && !/[\s(),"]/.test(search[i] ?? '')) word += search[i++] ?? '';
      // field="quoted value": one token, the value unescaped.
      if (/(?:!=|>=|<=|=|>|<)$/.test(word) && search[i] === '"')
        tokens.push({ text: word, quoted: false, value: quoted() });
      else tokens.push({ text: word, quoted: false });
    }
  }
  return tokens;
}

/** Parses the text after `search`; throws, as Splunk answers FATAL, on what it cannot read. */
export function parseSpl(search: string): Node {
  const tokens = tokenize(search.replace(/^\s*search\s+/, ''));
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const word = (text: string): boolean => peek()?.quoted === false && peek()?.text === text;
  const parseAnd = (): Node => {
    const nodes = [parseOr()];
    while (at < tokens.length && !word(')')) {
      if (word('AND')) at += 1;
      nodes.push(parseOr());
    }
    return nodes.length === 1 ? (nodes[0] as Node) : { kind: 'and', nodes };
  };
  const parseOr = (): Node => {
    const nodes = [parseNot()];
    while (word('OR')) {
      at += 1;
      nodes.push(parseNot());
    }
    return nodes.length === 1 ? (nodes[0] as Node) : { kind: 'or', nodes };
  };
  const parseNot = (): Node => {
    if (word('NOT')) {
      at += 1;
      return { kind: 'not', node: parseNot() };
    }
    return primary();
  };
  const primary = (): Node => {
    const token = tokens[at++];
    if (token === undefined) throw new Error('Missing search term');
    if (token.quoted) return { kind: 'term', value: token.text };
    if (token.text === '(') {
      const inner = parseAnd();
      if (!word(')')) throw new Error('Mismatched parentheses');
      at += 1;
      return inner;
    }
    if (token.text === ')' || token.text === ',') throw new Error(`Unexpected "${token.text}"`);
    if (word('IN') && tokens[at + 1]?.text === '(') {
      at += 2;
      const values: string[] = [];
      while (!word(')')) {
        const value = tokens[at++];
        if (value === undefined) throw new Error('Unterminated IN list');
        if (!(value.text === ',' && !value.quoted)) values.push(value.text);
      }
      at += 1;
      return { kind: 'in', field: token.text, values };
    }
    const comparison = /^([^=!<>]+)(!=|>=|<=|=|>|<)(.*)$/s.exec(token.text);
    if (comparison !== null) {
      const [, field = '', op = '=', rest = ''] = comparison;
      return {
        kind: 'compare',
        field,
        op: op as '=' | '!=' | '>=' | '<=' | '>' | '<',
        value: token.value ?? rest,
      };
    }
    return { kind: 'term', value: token.text };
  };
  const tree = parseAnd();
  if (at < tokens.length) throw new Error('Mismatched parentheses');
  return tree;
}

const breakers = /[\s[\]<>(){}|!;,'"*&?+/:=@.\-$#%\\_]+/;
const segments = (text: string): string[] => text.toLowerCase().split(breakers).filter(Boolean);

function wildcard(value: string, pattern: string): boolean {
  const source = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value.toLowerCase());
}

function valuesOf(event: SplEvent, field: string): string[] {
  if (field === '_time') return [String(event.time.getTime() / 1000)];
  if (field === '_raw') return [event.raw];
  const value = event.fields[field];
  return value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
}

function termMatches(raw: string, term: string): boolean {
  const want = segments(term);
  const have = segments(raw);
  if (want.length === 0) return false;
  return have.some((_, i) => want.every((w, j) => have[i + j] === w));
}

export function evaluateSpl(node: Node, event: SplEvent): boolean {
  switch (node.kind) {
    case 'and':
      return node.nodes.every((n) => evaluateSpl(n, event));
    case 'or':
      return node.nodes.some((n) => evaluateSpl(n, event));
    case 'not':
      return !evaluateSpl(node.node, event);
    case 'term':
      return termMatches(event.raw, node.value);
    case 'in':
      return valuesOf(event, node.field).some((v) => node.values.some((p) => wildcard(v, p)));
    case 'compare': {
      if (node.field === 'earliest') return event.time.getTime() >= Number(node.value) * 1000;
      if (node.field === 'latest') return event.time.getTime() < Number(node.value) * 1000;
      const values = valuesOf(event, node.field);
      if (node.op === '=') return values.some((v) => wildcard(v, node.value));
      if (node.op === '!=') return values.length > 0 && !values.some((v) => wildcard(v, node.value));
      const n = Number(node.value);
      return values.some((v) => {
        const x = Number(v);
        return (
          Number.isFinite(x) &&
          { '>=': x >= n, '<=': x <= n, '>': x > n, '<': x < n }[node.op as '>=' | '<=' | '>' | '<']
        );
      });
    }
  }
}

/**
 * Fields Splunk's Windows add-on extracts from a classic (non-XML) event: the header's `Key=Value` lines and
 * the message's `Key Name:<tab>value` lines, spaces made underscores; a repeated name becomes multivalue.
 */
export function classicFields(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const put = (name: string, value: string): void => {
    const key = name.trim().replace(/\s+/g, '_');
    const had = out[key];
    out[key] = had === undefined ? value : [...(typeof had === 'string' ? [had] : had), value];
  };
  for (const line of raw.split('\n')) {
    const header = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (header?.[1] !== undefined) put(header[1], header[2] ?? '');
    const message = /^\t([^:\t]+):\t+(.*)$/.exec(line);
    if (message?.[1] !== undefined) put(message[1], message[2] ?? '');
  }
  return out;
}
