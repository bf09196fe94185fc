import { formatIssue } from '../../core/index.js';
import { preflightRender } from '../../render/render.js';
import { loadScenarios } from '../../scenario/load.js';
import type { RuleOptions } from '../../scenario/rules.js';
import { scenarioPaths } from '../../config/defaults.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

/** Reports every problem in every file, then exits 2 if there was any. */
export function validateCommand(
  paths: readonly string[],
  output: Output,
  options: RuleOptions & { readonly json?: boolean; readonly includeBuiltin?: boolean } = {},
): ExitCode {
  const outcome = loadScenarios(scenarioPaths(paths, undefined, options.includeBuiltin), options);
  if (options.json === true) {
    if (outcome.issues.length === 0) preflightRender(outcome.scenarios);
    output.out(
      JSON.stringify(
        {
          ok: outcome.issues.length === 0,
          scenarios: outcome.scenarios.map((s) => ({
            file: s.file,
            id: s.spec.id,
            signals: s.spec.expect.length,
          })),
          issues: outcome.issues,
        },
        null,
        2,
      ),
    );
    return outcome.issues.length === 0 ? exitCodes.passed : exitCodes.invalidInput;
  }
  for (const issue of outcome.issues) output.err(formatIssue(issue));
  if (outcome.issues.length > 0) {
    output.err(
      `${outcome.issues.length} problem(s) found. Fix each at the file:line:col shown; docs/scenarios.md describes the format.`,
    );
    return exitCodes.invalidInput;
  }
  preflightRender(outcome.scenarios);
  for (const scenario of outcome.scenarios)
    output.out(`ok  ${scenario.file}  (${scenario.spec.id}, ${scenario.spec.expect.length} signals)`);
  return exitCodes.passed;
}
