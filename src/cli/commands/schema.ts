import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { HarnessConfig } from '../../config/schema.js';
import { Scenario } from '../../core/index.js';
import { packageRoot } from '../../util/paths.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

/** JSON Schemas for the files users write, generated from the zod schemas (editors use them for completion). */
export function jsonSchemas(): Record<string, string> {
  const render = (schema: z.ZodType): string =>
    `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`;
  return { 'scenario.schema.json': render(Scenario), 'config.schema.json': render(HarnessConfig) };
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
  return exitCodes.passed;
}
