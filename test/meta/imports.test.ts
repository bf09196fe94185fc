import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

/** Every relative import of every source file (type-only ones too), as absolute .ts paths. */
function importGraph(dir: string): Map<string, string[]> {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const specifiers = [...readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)\.js'/g)];
      const targets = specifiers.map((m) => resolve(dirname(file), `${m[1] ?? ''}.ts`));
      return [file, targets.filter((t) => known.has(t))];
    }),
  );
}

/** One import path that comes back to where it started, or null when the graph has none. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    const open = path.indexOf(file);
    if (open >= 0) return [...path.slice(open), file];
    if (done.has(file)) return null;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== null) return cycle;
    }
    path.pop();
    done.add(file);
    return null;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle !== null) return cycle;
  }
  return null;
}

test('src has no import circle, type-only imports included (core/ is cut by what depends on what)', (t) => {
  const src = join(repoRoot, 'src');
  const cycle = findCycle(importGraph(src));
  t.is(cycle?.map((f) => relative(src, f)).join(' -> ') ?? null, null);
});

test('the circle finder finds a circle', (t) => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  t.deepEqual(findCycle(graph), ['a', 'b', 'c', 'a']);
  t.is(
    findCycle(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    null,
  );
});

test('stages never import each other', (t) => {
  const stages = ['scenario', 'render', 'execute', 'poll', 'assert', 'suggest', 'report'];
  // render doubles as the shared template engine (ARCHITECTURE.md); scenario may use it to check templates.
  const allowed: Record<string, string[]> = { scenario: ['render'] };
  for (const stage of stages) {
    const dir = join(repoRoot, 'src', stage);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const other of stages.filter((s) => s !== stage && !(allowed[stage] ?? []).includes(s))) {
        t.false(new RegExp(`from '\\.\\./${other}/`).test(text), `${stage}/${file} imports ${other}/`);
      }
    }
  }
});
