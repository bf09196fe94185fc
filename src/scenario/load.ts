import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  Scenario,
  ValidationError,
  type LoadedScenario,
  type SourceIssue,
  errorMessage,
} from '../core/index.js';
import { sha256 } from '../util/hash.js';
import { parseYaml, zodIssues } from './positions.js';
import { checkRules, type RuleOptions } from './rules.js';

export interface LoadOutcome {
  readonly scenarios: readonly LoadedScenario[];
  readonly issues: readonly SourceIssue[];
}

function displayName(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** Parse -> schema -> semantic rules, collecting every problem with file:line:col. */
export function loadScenarioText(file: string, text: string, options: RuleOptions = {}): LoadOutcome {
  const { parsed, issues } = parseYaml(file, text);
  if (issues.length > 0) return { scenarios: [], issues };
  const result = Scenario.safeParse(parsed.doc.toJS());
  if (!result.success) return { scenarios: [], issues: zodIssues(parsed, result.error, Scenario) };
  const ruleIssues = checkRules(result.data, parsed, options);
  if (ruleIssues.length > 0) return { scenarios: [], issues: ruleIssues };
  return { scenarios: [{ spec: result.data, file, sha256: sha256(text) }], issues: [] };
}

function expand(path: string): string[] {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return [path];
  }
  if (!stats.isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(path, name));
}

/** Loads files and folders of scenarios; never stops at the first bad file. */
export function loadScenarios(paths: readonly string[], options: RuleOptions = {}): LoadOutcome {
  const scenarios: LoadedScenario[] = [];
  const issues: SourceIssue[] = [];
  const ids = new Map<string, string>();
  for (const file of paths.flatMap(expand)) {
    const shown = displayName(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      issues.push({
        file: shown,
        line: 1,
        col: 1,
        message: `cannot read the file: ${errorMessage(error)}`,
      });
      continue;
    }
    const outcome = loadScenarioText(shown, text, options);
    issues.push(...outcome.issues);
    for (const scenario of outcome.scenarios) {
      const other = ids.get(scenario.spec.id);
      if (other !== undefined) {
        issues.push({
          file: shown,
          line: 1,
          col: 1,
          message: `scenario id "${scenario.spec.id}" is also used by ${other}`,
        });
      } else {
        ids.set(scenario.spec.id, shown);
        scenarios.push(scenario);
      }
    }
  }
  if (paths.length > 0 && scenarios.length === 0 && issues.length === 0) {
    issues.push({
      file: paths.join(', '),
      line: 1,
      col: 1,
      message: 'no scenario files (*.yaml, *.yml) found',
    });
  }
  return { scenarios, issues };
}

export function loadScenariosOrThrow(
  paths: readonly string[],
  options: RuleOptions = {},
): readonly LoadedScenario[] {
  const outcome = loadScenarios(paths, options);
  if (outcome.issues.length > 0) throw new ValidationError('E_SCENARIO_INVALID', outcome.issues);
  return outcome.scenarios;
}
