import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { HarnessError, ValidationError, errorMessage } from '../core/index.js';
import { parseYaml, zodIssues, type ParsedYaml } from '../scenario/positions.js';

/**
 * Reads a YAML file users write and checks it against its schema: a file that cannot be read, YAML that does
 * not parse and every schema problem are an E_CONFIG_INVALID (exit 2), the problems as file:line:col.
 */
export function loadYamlFile<S extends z.ZodType>(
  file: string,
  schema: S,
  words: { readonly what: string; readonly unreadableHint: string; readonly hint: string },
): { data: z.output<S>; parsed: ParsedYaml } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HarnessError('E_CONFIG_INVALID', `cannot read ${words.what} ${file}: ${errorMessage(error)}`, {
      hint: words.unreadableHint,
      cause: error,
    });
  }
  const { parsed, issues } = parseYaml(file, text);
  if (issues.length > 0) throw new ValidationError('E_CONFIG_INVALID', issues, { hint: words.hint });
  const result = schema.safeParse(parsed.doc.toJS() ?? {});
  if (!result.success)
    throw new ValidationError('E_CONFIG_INVALID', zodIssues(parsed, result.error, schema), {
      hint: words.hint,
    });
  return { data: result.data, parsed };
}
