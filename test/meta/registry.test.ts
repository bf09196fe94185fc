import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executors } from '../../src/executors/registry.js';
import { reporters } from '../../src/reporters/registry.js';
import { siemConnectors } from '../../src/siem/registry.js';
import { repoRoot } from '../helpers/cli.js';

const families = [
  { folder: 'executors', registry: executors as Record<string, { id: string }>, contract: 'testExecutor' },
  {
    folder: 'siem',
    registry: siemConnectors as Record<string, { id: string }>,
    contract: 'testSiemConnector',
  },
  { folder: 'reporters', registry: reporters as Record<string, { id: string }>, contract: 'testReporter' },
] as const;

for (const family of families) {
  test(`${family.folder}: plug-in folders, registry keys and ids agree; each has index, schema, readme and a contract test`, (t) => {
    const dir = join(repoRoot, 'src', family.folder);
    const folders = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();

    t.deepEqual(folders, Object.keys(family.registry).sort());
    for (const folder of folders) {
      t.is(family.registry[folder]?.id, folder);
      for (const file of ['index.ts', 'schema.ts', 'readme.md'])
        t.true(existsSync(join(dir, folder, file)), `${folder}/${file}`);
      const tests = readdirSync(join(dir, folder)).filter((f) => f.endsWith('.test.ts'));
      t.true(
        tests.some((f) => readFileSync(join(dir, folder, f), 'utf8').includes(`${family.contract}(`)),
        `${folder} calls ${family.contract}`,
      );
    }
  });
}

test('stages never import each other', (t) => {
  const stages = ['scenario', 'render', 'execute', 'poll', 'assert', 'report'];
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
