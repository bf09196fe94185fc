import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compileRule, SigmaUnsupportedError, type CompiledRule } from './engine.js';
import type { Placeholders } from './placeholders.js';
import { SigmaRule } from './rule.js';

export interface RuleLoadResult {
  readonly loaded: readonly (CompiledRule & { readonly file: string })[];
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
}

/**
 * Loads every .yml/.yaml rule in a folder and its sub-folders (rule sets such as SigmaHQ's are nested by
 * product and category). Each rule is either loaded or refused with a reason.
 */
export function loadRuleDir(
  dir: string,
  options: { readonly placeholders?: Placeholders } = {},
): RuleLoadResult {
  const loaded: (CompiledRule & { file: string })[] = [];
  const refused: { file: string; reason: string }[] = [];
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const file = join(dir, name);
    try {
      const rule = SigmaRule.parse(parse(readFileSync(file, 'utf8')));
      loaded.push({ ...compileRule(rule, options), file });
    } catch (error) {
      const reason =
        error instanceof SigmaUnsupportedError
          ? `unsupported: ${error.message}`
          : error instanceof Error
            ? error.message
            : String(error);
      refused.push({ file, reason });
    }
  }
  return { loaded, refused };
}
