import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HarnessError, errorMessage } from '../core/errors.js';
import { didYouMean } from '../util/did-you-mean.js';

/** Every flag of every command, as node:util parseArgs reads them. */
export const flagDefinitions = {
  config: { type: 'string' },
  host: { type: 'string', multiple: true, default: [] },
  'reports-dir': { type: 'string' },
  'lab-drop': { type: 'string', multiple: true, default: [] },
  'lab-sensor': { type: 'string' },
  'allow-custom-commands': { type: 'boolean', default: false },
  rules: { type: 'string', multiple: true, default: [] },
  'include-builtin': { type: 'boolean', default: false },
  concurrency: { type: 'string' },
  'trust-new-host-keys': { type: 'boolean', default: false },
  preflight: { type: 'string' },
  json: { type: 'boolean', default: false },
  siem: { type: 'string' },
  marker: { type: 'string' },
  write: { type: 'boolean', default: false },
  'public-key': { type: 'string' },
  'no-chain': { type: 'boolean', default: false },
  scenario: { type: 'string' },
  signal: { type: 'string', multiple: true, default: [] },
  title: { type: 'string' },
  from: { type: 'string' },
  template: { type: 'string' },
  flags: { type: 'string' },
  force: { type: 'boolean', default: false },
  last: { type: 'string' },
  format: { type: 'string', multiple: true, default: [] },
  out: { type: 'string' },
  shard: { type: 'string' },
  cron: { type: 'string' },
  jitter: { type: 'string' },
  'max-runs': { type: 'string' },
  timezone: { type: 'string' },
  'ssh-port': { type: 'string' },
  'hec-port': { type: 'string' },
  pwsh: { type: 'string' },
  debug: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'v', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type FlagName = keyof typeof flagDefinitions;

/** Flags every command takes. */
const globalFlags = ['json', 'debug', 'quiet', 'help', 'version'] as const satisfies readonly FlagName[];

const runFlags = [
  'config',
  'host',
  'reports-dir',
  'lab-drop',
  'lab-sensor',
  'allow-custom-commands',
  'rules',
  'concurrency',
  'trust-new-host-keys',
  'preflight',
  'shard',
  'include-builtin',
] as const satisfies readonly FlagName[];

/**
 * The flags each command takes, beside the global ones: the only list of commands and their flags. A
 * command with sub-commands is listed as `lab up`, `report merge`; `report` alone re-renders a run.
 */
export const commandFlags = {
  run: runFlags,
  schedule: [...runFlags, 'cron', 'jitter', 'max-runs', 'timezone'],
  plan: ['config', 'host', 'shard', 'allow-custom-commands', 'include-builtin'],
  new: ['title', 'from', 'template', 'flags', 'signal', 'out', 'force'],
  'import-atomic': ['out', 'force'],
  doctor: ['config', 'reports-dir', 'include-builtin'],
  'lab smoke': ['config', 'host', 'out'],
  'lab up': ['config', 'ssh-port', 'hec-port', 'lab-sensor', 'pwsh', 'out'],
  cleanup: ['config', 'marker', 'host'],
  ingest: ['config', 'rules'],
  signals: ['siem'],
  validate: ['allow-custom-commands', 'include-builtin'],
  render: ['marker', 'allow-custom-commands'],
  schema: ['write'],
  verify: ['public-key', 'no-chain'],
  report: ['format', 'out'],
  'report merge': ['config', 'reports-dir'],
  history: ['config', 'reports-dir', 'scenario', 'signal', 'last'],
} as const satisfies Record<string, readonly FlagName[]>;

export type CommandName = keyof typeof commandFlags;

const commandNames = Object.keys(commandFlags) as CommandName[];

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
    const allowed = new Set<string>([...globalFlags, ...commandFlags[command]]);
    for (const token of parsed.tokens) {
      if (token.kind !== 'option' || allowed.has(token.name)) continue;
      const takers = commandNames.filter((name) =>
        (commandFlags[name] as readonly string[]).includes(token.name),
      );
      throw new HarnessError(
        'E_USAGE',
        `${command} does not take --${token.name}${takers.length > 0 ? ` (${takers.join(', ')} ${takers.length === 1 ? 'takes' : 'take'} it)` : ''}`,
        {
          hint: `${command} takes ${commandFlags[command].map((f) => `--${f}`).join(', ')}; see purple-harness ${command} --help.`,
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
