import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executors } from '../../src/executors/registry.js';
import { reporters } from '../../src/reporters/registry.js';
import { siemConnectors } from '../../src/siem/registry.js';
import { HarnessConfig } from '../../src/config/schema.js';
import { commandHelp } from '../../src/cli/help.js';
import { connectorTable, withConnectorTable } from '../../src/siem/table.js';
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

/** The config's own problems with `config`, by path: a registered plug-in's type is never among them. */
function typeProblems(config: unknown): string[] {
  const parsed = HarnessConfig.safeParse(config);
  return parsed.success
    ? []
    : parsed.error.issues
        .filter((i) => i.path.at(-1) === 'type' || i.code === 'invalid_union')
        .map((i) => i.message);
}

// #19: registered once is enough. Each plug-in in a registry can be named in the config, has a guide that
// exists, and appears where users look for it (the connector table, --help); the table is current.
test('every registered plug-in is configurable by its id and documented where users look', (t) => {
  for (const [id, definition] of Object.entries(siemConnectors)) {
    t.deepEqual(typeProblems({ siem: { type: id } }), [], `siem.type ${id} is not accepted`);
    t.true(existsSync(join(repoRoot, definition.docs.guide)), `siem ${id}: guide ${definition.docs.guide}`);
    t.true(connectorTable().includes(`| \`${id}\``), `siem ${id} has no row in the connector table`);
    t.true(connectorTable().includes(`[${definition.displayName}](`), `siem ${id}: its name is not shown`);
    t.true(commandHelp.run.includes(id), `run --help does not name the ${id} SIEM`);
  }
  t.true(
    typeProblems({ siem: { type: 'not-registered' } }).length > 0,
    'an unregistered SIEM type is accepted',
  );
  for (const [id, definition] of Object.entries(executors)) {
    t.deepEqual(typeProblems({ executor: { type: id } }), [], `executor.type ${id} is not accepted`);
    t.true(
      existsSync(join(repoRoot, definition.docs.guide)),
      `executor ${id}: guide ${definition.docs.guide}`,
    );
  }
  for (const [id, definition] of Object.entries(reporters)) {
    t.true(HarnessConfig.safeParse({ reports: { formats: [id] } }).success, `reports.formats ${id}`);
    t.true(
      existsSync(join(repoRoot, definition.docs.guide)),
      `reporter ${id}: guide ${definition.docs.guide}`,
    );
    t.true(commandHelp.report.includes(id), `report --help does not name the ${id} format`);
    t.true(commandHelp.report.includes(definition.displayName), `report --help does not describe ${id}`);
  }
  const readme = readFileSync(join(repoRoot, 'docs', 'connectors', 'README.md'), 'utf8');
  t.is(readme, withConnectorTable(readme), 'docs/connectors/README.md is stale: run npm run schema');
});
