import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../helpers/cli.js';

/** Where functions must read as named steps (#19): the pipeline, the stages that run it, the CLI and its setup. */
const folders = ['src/pipeline', 'src/poll', 'src/execute', 'src/cli', 'src/cli/commands', 'src/setup'];
const maxLines = 100;

/** Every function, method and arrow in a file with its length in lines. */
function functionLengths(file: string): { name: string; line: number; lines: number }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { name: string; line: number; lines: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node)
    ) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = ts.isArrowFunction(node) ? '(arrow)' : (node.name?.getText(source) ?? '(anonymous)');
      found.push({ name, line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test(`no function in the pipeline, poll, execute, setup or CLI code is over ${String(maxLines)} lines`, (t) => {
  const files = folders.flatMap((folder) =>
    readdirSync(join(repoRoot, folder))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => join(repoRoot, folder, f)),
  );
  t.true(files.length > 20, 'the folders hold the code they should');
  const long = files.flatMap((file) =>
    functionLengths(file)
      .filter((f) => f.lines > maxLines)
      .map((f) => `${file.slice(repoRoot.length + 1)}:${String(f.line)} ${f.name}: ${String(f.lines)} lines`),
  );
  t.deepEqual(long, []);
  const run = readFileSync(join(repoRoot, 'src', 'cli', 'commands', 'run.ts'), 'utf8').split('\n').length;
  t.true(run < 150, `src/cli/commands/run.ts is ${String(run)} lines`);
});
