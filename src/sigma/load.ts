import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  compileCorrelation,
  isCorrelation,
  SigmaCorrelation,
  type CompiledCorrelation,
} from './correlation.js';
import { compileRule, SigmaUnsupportedError, type CompiledRule } from './engine.js';
import type { Placeholders } from './placeholders.js';
import { SigmaRule } from './rule.js';
import { defaultTuning, placeholdersOf, type Tuning } from '../core/index.js';
import { detectionsDir } from '../util/paths.js';

export interface RuleLoadResult {
  readonly loaded: readonly (CompiledRule & { readonly file: string })[];
  readonly correlations: readonly (CompiledCorrelation & { readonly file: string })[];
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
}

/** Our own rules (detections/), reading the tuning's values as their `%ph_…%` placeholders. */
export function loadOurDetections(tuning: Tuning = defaultTuning): RuleLoadResult {
  return loadRuleDir(detectionsDir(), { placeholders: placeholdersOf(tuning) });
}

/**
 * Loads every .yml/.yaml rule in a folder and its sub-folders (rule sets such as SigmaHQ's are nested by
 * product and category); a file may hold several rules as YAML documents (a correlation beside the rules it
 * names). Each rule is either loaded or refused with a reason.
 */
export function loadRuleDir(
  dir: string,
  options: { readonly placeholders?: Placeholders } = {},
): RuleLoadResult {
  const loaded: (CompiledRule & { file: string })[] = [];
  const correlations: (CompiledCorrelation & { file: string })[] = [];
  const refused: { file: string; reason: string }[] = [];
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const path = join(dir, name);
    let documents: unknown[];
    try {
      documents = parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
        if (document.errors.length > 0) throw document.errors[0] ?? new Error('not YAML');
        return document.toJS() as unknown;
      });
    } catch (error) {
      refused.push({ file: path, reason: reasonOf(error) });
      continue;
    }
    documents.forEach((document, i) => {
      const file = documents.length > 1 ? `${path} (rule ${String(i + 1)})` : path;
      try {
        if (typeof document === 'object' && document !== null && 'action' in document)
          throw new SigmaUnsupportedError('rule collection actions (action: global, reset, repeat)');
        if (isCorrelation(document))
          correlations.push({ ...compileCorrelation(SigmaCorrelation.parse(document)), file });
        else loaded.push({ ...compileRule(SigmaRule.parse(document), options), file });
      } catch (error) {
        refused.push({ file, reason: reasonOf(error) });
      }
    });
  }
  return { loaded, correlations, refused };
}

function reasonOf(error: unknown): string {
  return error instanceof SigmaUnsupportedError
    ? `unsupported: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
}
