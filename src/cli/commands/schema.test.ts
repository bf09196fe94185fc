import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../util/paths.js';
import { jsonSchemas } from './schema.js';

test('the committed JSON Schemas match the zod schemas (run `npm run schema` after changing them)', (t) => {
  for (const [name, content] of Object.entries(jsonSchemas())) {
    t.is(readFileSync(join(packageRoot(), 'schema', name), 'utf8'), content, name);
  }
});

test('the scenario JSON Schema is strict about unknown keys', (t) => {
  const schema = JSON.parse(jsonSchemas()['scenario.schema.json'] ?? '{}') as {
    additionalProperties?: boolean;
    required?: string[];
  };

  t.is(schema.additionalProperties, false);
  t.true(schema.required?.includes('expect'));
});

test('the run.json schema is versioned and strict, so consumers can rely on every field', (t) => {
  const schema = JSON.parse(jsonSchemas()['run.schema.json'] ?? '{}') as {
    additionalProperties?: boolean;
    properties?: { schemaVersion?: { const?: number } };
  };

  t.is(schema.additionalProperties, false);
  t.is(schema.properties?.schemaVersion?.const, 2);
});
