import { closestMatch } from 'leven';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { SourceIssue } from '../core/index.js';

export interface ParsedYaml {
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  readonly file: string;
}

export function parseYaml(file: string, text: string): { parsed: ParsedYaml; issues: SourceIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues = [...doc.errors, ...doc.warnings].map((error) => {
    const pos = lineCounter.linePos(error.pos[0]);
    return { file, line: pos.line, col: pos.col, message: error.message.split('\n')[0] ?? error.message };
  });
  return { parsed: { doc, lineCounter, file }, issues };
}

/** The position of the deepest node that exists along `path`; for an unknown key, the key itself. */
export function locate(
  parsed: ParsedYaml,
  path: readonly PropertyKey[],
  key?: string,
): { line: number; col: number } {
  let node: unknown = parsed.doc.contents;
  const rangeOf = (n: unknown): number | undefined =>
    typeof n === 'object' && n !== null && 'range' in n && Array.isArray(n.range)
      ? (n.range[0] as number)
      : undefined;
  let offset = rangeOf(node) ?? 0;
  const steps = key === undefined ? path : [...path, key];
  for (const step of steps) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) =>
          (typeof p.key === 'object' && p.key !== null && 'value' in p.key ? p.key.value : p.key) === step,
      );
      if (!pair) break;
      offset =
        step === key ? (rangeOf(pair.key) ?? offset) : (rangeOf(pair.value) ?? rangeOf(pair.key) ?? offset);
      node = step === key ? pair.key : pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item: unknown = node.items[step];
      if (item === undefined) break;
      offset = rangeOf(item) ?? offset;
      node = item;
    } else break;
  }
  const pos = parsed.lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

function nodeAt(parsed: ParsedYaml, path: readonly PropertyKey[]): unknown {
  return path.length === 0 ? parsed.doc.contents : parsed.doc.getIn(path, true);
}

/** The keys a schema allows at a path, for "did you mean" hints. */
function knownKeys(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    for (;;) {
      if (n instanceof z.ZodOptional || n instanceof z.ZodDefault || n instanceof z.ZodNullable)
        n = n.unwrap();
      else if (n instanceof z.ZodPipe) n = n.in;
      else return n;
    }
  };
  for (const step of path) {
    node = unwrap(node);
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, unknown>)[String(step)];
    else if (node instanceof z.ZodArray) node = node.element;
    else if (node instanceof z.ZodRecord) node = node.valueType;
    else return [];
  }
  node = unwrap(node);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** A key zod wants that the file does not have (zod 4 issues carry no input, so the file is asked). */
function isMissing(parsed: ParsedYaml, issue: z.core.$ZodIssue): issue is z.core.$ZodIssueInvalidType {
  return issue.code === 'invalid_type' && issue.path.length > 0 && !parsed.doc.hasIn(issue.path);
}

/** What a value in the file is, for a sentence: `the text "twenty"`, `the number 5`, `a list`. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `the text "${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map of keys' : typeof value;
}

const typeNames: Record<string, string> = {
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map of keys',
  int: 'a whole number',
};

function notOneOf(value: unknown, choices: readonly string[]): string {
  const guess = typeof value === 'string' ? closestMatch(value, choices, { maxDistance: 3 }) : undefined;
  return `${describe(value)} is not one of ${choices.join(', ')}${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`;
}

/** A value too small or too big, in our words: a list's items, a text's characters, a number's bounds. */
function sizeProblem(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'array' || issue.origin === 'set')
    return small ? `needs at least ${String(bound)} item(s)` : `takes at most ${String(bound)} item(s)`;
  if (issue.origin === 'string')
    return small
      ? bound <= 1
        ? 'must not be empty'
        : `needs at least ${String(bound)} characters`
      : `takes at most ${String(bound)} characters`;
  return `must be ${small ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than'} ${String(bound)}`;
}

/** A zod issue in our words; never the schema library's phrasing. */
function inOurWords(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = typeNames[issue.expected] ?? issue.expected;
      const example =
        issue.expected === 'number' || issue.expected === 'int' ? ' (write it as digits, unquoted)' : '';
      return `must be ${expected}, but is ${describe(value)}${example}`;
    }
    case 'invalid_value':
      return notOneOf(value, issue.values.map(String));
    case 'invalid_union': {
      const options = (issue as { options?: unknown }).options;
      return Array.isArray(options)
        ? notOneOf(value, options.map(String))
        : `${describe(value)} matches none of the forms allowed here`;
    }
    case 'too_small':
    case 'too_big':
      return sizeProblem(issue);
    case 'invalid_format':
    case 'not_multiple_of':
    case 'custom':
      // Our schemas give these their own messages (.min, .regex with a description, .refine).
      return issue.message;
    case 'unrecognized_keys':
    case 'invalid_key':
    case 'invalid_element':
      return issue.message;
  }
}

/** Turns zod issues into located issues; an unknown key points at the key, with the key named. */
export function zodIssues(parsed: ParsedYaml, error: z.ZodError, schema?: z.ZodType): SourceIssue[] {
  const out: SourceIssue[] = [];
  // Required keys that are missing: a misspelt key is usually one of them.
  const missing = error.issues
    .filter((i) => isMissing(parsed, i))
    .map((i) => ({
      parent: i.path.slice(0, -1).map(String).join('.'),
      key: String(i.path[i.path.length - 1]),
    }));
  for (const issue of error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const dotted = path.join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const where = locate(parsed, path, key);
        const here = nodeAt(parsed, path);
        const present = new Set(
          isMap(here) ? here.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [],
        );
        const candidates = [
          ...missing.filter((m) => m.parent === dotted).map((m) => m.key),
          ...knownKeys(schema, path).filter((k) => !present.has(k)),
        ];
        const guess = closestMatch(key, candidates, { maxDistance: 3 });
        out.push({
          file: parsed.file,
          ...where,
          path: dotted === '' ? key : `${dotted}.${key}`,
          message: `unknown key "${key}"${dotted === '' ? '' : ` in ${dotted}`}${guess !== undefined ? `; did you mean "${guess}"?` : '; check its spelling against docs/scenarios.md'}`,
        });
      }
      continue;
    }
    if (isMissing(parsed, issue)) {
      const parent = path.slice(0, -1);
      const where = locate(parsed, parent);
      const key = String(path[path.length - 1]);
      const inText = parent.length === 0 ? '' : ` in ${parent.join('.')}`;
      out.push({
        file: parsed.file,
        ...where,
        path: dotted,
        message: `missing required key "${key}"${inText} (${typeNames[issue.expected] ?? issue.expected})`,
      });
      continue;
    }
    const where = locate(parsed, path);
    out.push({
      file: parsed.file,
      ...where,
      path: dotted,
      message: `${dotted === '' ? '(document)' : dotted}: ${inOurWords(issue, parsed.doc.getIn(path))}`,
    });
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}
