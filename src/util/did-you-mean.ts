import { closestMatch } from 'leven';
import { HarnessError } from '../core/errors.js';

/** ` Did you mean "x"?` for a near miss (3 edits or fewer), else nothing. */
export function didYouMean(value: string, choices: readonly string[]): string {
  const guess = closestMatch(value, choices, { maxDistance: 3 });
  return guess === undefined || guess === value ? '' : ` Did you mean "${guess}"?`;
}

/** The value if it is one of the choices; else exit 2 with the near miss and every choice. */
export function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  const found = choices.find((choice) => choice === value);
  if (found !== undefined) return found;
  throw new HarnessError('E_USAGE', `${flag} does not take "${value}".${didYouMean(value, choices)}`, {
    hint: `${flag} takes one of: ${choices.join(', ')}.`,
  });
}
