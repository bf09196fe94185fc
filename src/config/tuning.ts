import { Tuning, ValidationError, errorMessage, type SourceIssue } from '../core/index.js';
import { cidrMatcher, sigmaRegex } from '../sigma/engine.js';
import { locate, type ParsedYaml } from '../scenario/positions.js';
import { loadYamlFile } from './yaml-file.js';

const hint = 'Fix the tuning file; docs/tuning.md describes it.';

/**
 * Reads and checks a tuning file (docs/tuning.md). Every problem comes back as file:line:col (exit 2),
 * before any host is touched: the shape by its schema, and each regular expression and network by the
 * rule engine that will read it, so a value the rules could not use is refused here, not in the middle of
 * a run.
 */
export function loadTuningFile(file: string): Tuning {
  const { data, parsed } = loadYamlFile(file, Tuning, {
    what: 'tuning file',
    unreadableHint:
      'Point `tuning:` in the config at an existing file, or leave it out for the default tuning.',
    hint,
  });
  const refused = valueIssues(parsed, data);
  if (refused.length > 0) throw new ValidationError('E_CONFIG_INVALID', refused, { hint });
  return data;
}

/** The values the rule engine reads as a regular expression or a network, each checked by the engine. */
function valueIssues(parsed: ParsedYaml, tuning: Tuning): SourceIssue[] {
  const issues: SourceIssue[] = [];
  const check = (path: readonly (string | number)[], read: () => unknown): void => {
    try {
      read();
    } catch (error) {
      issues.push({ file: parsed.file, ...locate(parsed, path), message: errorMessage(error) });
    }
  };
  check(['infPathRegex'], () => sigmaRegex(tuning.infPathRegex, ['re'], 'infPathRegex'));
  tuning.externalIpAllowlist.forEach((network, i) => {
    check(['externalIpAllowlist', i], () =>
      cidrMatcher(network, `externalIpAllowlist (write a network as 10.0.0.0/8 or fd00::/8)`),
    );
  });
  return issues;
}
