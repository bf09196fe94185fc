import { parseArgs } from 'node:util';
import { HarnessError, errorMessage } from '../core/errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import {
  commandTable,
  flagDefinitions,
  globalFlags,
  type CommandName,
  type FlagName,
} from './command-table.js';

/** A command's own flags, from the command table (./command-table.ts). */
const flagsOf = (name: CommandName): readonly FlagName[] => commandTable[name].flags;

const commandNames = Object.keys(commandTable) as CommandName[];

/** The command a set of positionals names (`lab up`, `report merge`, `run`), or null if none does. */
export function commandOf(positionals: readonly string[]): CommandName | null {
  const [first, second] = positionals;
  if (first === undefined) return null;
  const two = `${first} ${second ?? ''}`;
  const found = commandNames.find((name) => name === two) ?? commandNames.find((name) => name === first);
  return found ?? null;
}

/** node:util's parse errors in our words: which flag, and the fix. */
function parseProblem(error: unknown, known: readonly string[]): HarnessError {
  const message = errorMessage(error);
  const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1] ?? '';
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = flag.replace(/^-+/, '');
    return new HarnessError(
      'E_USAGE',
      `there is no flag ${flag}.${didYouMean(name, known).replace(/"(.+)"/, '--$1')}`,
      {
        hint: 'purple-harness --help lists every command and flag; purple-harness <command> --help shows one command.',
      },
    );
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return new HarnessError(
      'E_USAGE',
      `${flag || 'a flag'} ${/argument missing/.test(message) ? 'needs a value' : 'takes no value'}`,
      {
        hint: `Write ${flag} VALUE for a flag that takes one, and the flag alone for a switch such as --json.`,
      },
    );
  return new HarnessError('E_USAGE', message, { cause: error });
}

export interface ParsedCommandLine {
  readonly values: ReturnType<typeof parseAll>['values'];
  readonly positionals: readonly string[];
  readonly command: CommandName | null;
}

function parseAll(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, tokens: true, options: flagDefinitions });
}

/**
 * Parses the command line, then refuses a flag the named command does not take (`validate --cron`), naming
 * the commands that do take it. Throws E_USAGE (exit 2) with a sentence of ours.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  let parsed: ReturnType<typeof parseAll>;
  try {
    parsed = parseAll(argv);
  } catch (error) {
    throw parseProblem(error, Object.keys(flagDefinitions));
  }
  const command = commandOf(parsed.positionals);
  if (command !== null) {
    const allowed = new Set<string>([...globalFlags, ...flagsOf(command)]);
    for (const token of parsed.tokens) {
      if (token.kind !== 'option' || allowed.has(token.name)) continue;
      const takers = commandNames.filter((name) => (flagsOf(name) as readonly string[]).includes(token.name));
      throw new HarnessError(
        'E_USAGE',
        `${command} does not take --${token.name}${takers.length > 0 ? ` (${takers.join(', ')} ${takers.length === 1 ? 'takes' : 'take'} it)` : ''}`,
        {
          hint: `${command} takes ${flagsOf(command)
            .map((f) => `--${f}`)
            .join(', ')}; see purple-harness ${command} --help.`,
        },
      );
    }
  }
  return { values: parsed.values, positionals: parsed.positionals, command };
}

/** An unknown command, with the near miss. */
export function unknownCommand(name: string): HarnessError {
  const firsts = [...new Set(commandNames.map((n) => n.split(' ')[0] ?? n))];
  return new HarnessError('E_USAGE', `unknown command "${name}".${didYouMean(name, firsts)}`, {
    hint: `Commands: ${commandNames.join(', ')}. See --help.`,
  });
}
