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

/** Turns zod issues into located issues; an unknown key points at the key, with the key named. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
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

export function zodIssues(parsed: ParsedYaml, error: z.ZodError, schema?: z.ZodType): SourceIssue[] {
  const out: SourceIssue[] = [];
  // Required keys that are missing: a misspelt key is usually one of them.
  const missing = error.issues
    .filter((i) => i.code === 'invalid_type' && i.input === undefined && i.path.length > 0)
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
        const guess = candidates
          .filter((k) => distance(k, key) <= 3)
          .sort((a, b) => distance(a, key) - distance(b, key))
          .map((k) => ({ key: k }))[0];
        out.push({
          file: parsed.file,
          ...where,
          path: dotted === '' ? key : `${dotted}.${key}`,
          message: `unknown key "${key}"${dotted === '' ? '' : ` in ${dotted}`}${guess ? `; did you mean "${guess.key}"?` : '; check its spelling against docs/scenarios.md'}`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && issue.input === undefined && path.length > 0) {
      const parent = path.slice(0, -1);
      const where = locate(parsed, parent);
      const key = String(path[path.length - 1]);
      const inText = parent.length === 0 ? '' : ` in ${parent.join('.')}`;
      out.push({
        file: parsed.file,
        ...where,
        path: dotted,
        message: `missing required key "${key}"${inText} (${issue.expected})`,
      });
      continue;
    }
    const where = locate(parsed, path);
    out.push({
      file: parsed.file,
      ...where,
      path: dotted,
      message: `${dotted === '' ? '(document)' : dotted}: ${issue.message}`,
    });
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}
