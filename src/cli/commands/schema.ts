import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ControlMapping } from '../../config/controls.js';
import { HarnessConfig } from '../../config/schema.js';
import { RunRecord, Scenario, Tuning } from '../../core/index.js';
import { withConnectorTable } from '../../siem/table.js';
import { packageRoot } from '../../util/paths.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

/**
 * JSON Schemas generated from the zod schemas (the config's from every registered plug-in's options): for the files users write (editors use them for completion),
 * and for run.json, the record other tools consume.
 */
export function jsonSchemas(): Record<string, string> {
  const render = (schema: z.ZodType, io: 'input' | 'output' = 'input'): string =>
    `${JSON.stringify(z.toJSONSchema(schema, { io, unrepresentable: 'any' }), null, 2)}\n`;
  return {
    'scenario.schema.json': render(Scenario),
    'config.schema.json': render(HarnessConfig),
    'run.schema.json': render(RunRecord, 'output'),
    'controls.schema.json': render(ControlMapping),
    'tuning.schema.json': render(Tuning),
  };
}

export function schemaCommand(write: boolean, output: Output): ExitCode {
  const schemas = jsonSchemas();
  if (!write) {
    output.out(schemas['scenario.schema.json'] ?? '');
    return exitCodes.passed;
  }
  const dir = join(packageRoot(), 'schema');
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(schemas)) {
    writeFileSync(join(dir, name), content);
    output.out(`wrote ${join(dir, name)}`);
  }
  // In a checkout, the connector table in the docs is regenerated from the registry too.
  const readme = join(packageRoot(), 'docs', 'connectors', 'README.md');
  if (existsSync(readme)) {
    writeFileSync(readme, withConnectorTable(readFileSync(readme, 'utf8')));
    output.out(`wrote the connector table in ${readme}`);
  }
  return exitCodes.passed;
}
