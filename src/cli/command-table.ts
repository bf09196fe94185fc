import type { ParseArgsConfig } from 'node:util';

/*
 * The one list of commands: each command's flags, its line in the usage, and whether it prints JSON of its
 * own. The parser (flags.ts), the usage (main.ts), the runners (dispatch.ts) and each command's --help
 * (help.ts) are checked against it by the compiler: a command missing from any of them does not build.
 */

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
export const globalFlags = [
  'json',
  'debug',
  'quiet',
  'help',
  'version',
] as const satisfies readonly FlagName[];

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

interface CommandSpec {
  /** The flags it takes beside the global ones. */
  readonly flags: readonly FlagName[];
  /** Its line in `purple-harness --help`, after `purple-harness `. */
  readonly usage: string;
  /** `own`: --json prints the command's own JSON document; `lines`: its output lines, wrapped in one. */
  readonly json: 'own' | 'lines';
}

/**
 * Every command, in the order the usage lists them. A command with sub-commands is listed as `lab up`,
 * `report merge`; `report` alone re-renders a run.
 */
export const commandTable = {
  run: {
    flags: runFlags,
    usage: 'run [scenarios] [--config FILE] [--host NAME]... [--reports-dir DIR]',
    json: 'own',
  },
  schedule: {
    flags: [...runFlags, 'cron', 'jitter', 'max-runs', 'timezone'],
    usage: 'schedule --cron "EXPR" [--jitter DURATION] [--max-runs N] [run options]',
    json: 'lines',
  },
  doctor: {
    flags: ['config', 'reports-dir', 'include-builtin'],
    usage: 'doctor [--config FILE] [--json]',
    json: 'own',
  },
  'lab smoke': {
    flags: ['config', 'host', 'out'],
    usage: 'lab smoke --config FILE --host NAME [--out DIR]',
    json: 'lines',
  },
  'lab up': {
    flags: ['config', 'ssh-port', 'hec-port', 'lab-sensor', 'pwsh', 'out'],
    usage: 'lab up [--ssh-port N] [--hec-port N] [--lab-sensor PROFILE] [--pwsh PATH] [--out DIR]',
    json: 'lines',
  },
  'import-atomic': {
    flags: ['out', 'force'],
    usage: 'import-atomic <T1218.003.yaml> [--out DIR] [--force] [--json]',
    json: 'own',
  },
  plan: {
    flags: ['config', 'host', 'shard', 'allow-custom-commands', 'include-builtin'],
    usage: 'plan [scenarios] [--config FILE] [--host NAME]... [--shard I/N] [--json]',
    json: 'own',
  },
  'tuning plan': {
    flags: ['config', 'out', 'force'],
    usage: 'tuning plan [--config FILE] [--out DIR] [--force] [--json]',
    json: 'own',
  },
  cleanup: {
    flags: ['config', 'marker', 'host'],
    usage: 'cleanup --marker MARKER --config FILE [--host NAME]...',
    json: 'lines',
  },
  ingest: { flags: ['config', 'rules'], usage: 'ingest <files...> [--rules DIR]... [--json]', json: 'own' },
  signals: {
    flags: ['siem'],
    usage: 'signals --siem <local|splunk|sentinel|elastic> [--json]',
    json: 'own',
  },
  new: {
    flags: ['title', 'from', 'template', 'flags', 'signal', 'out', 'force'],
    usage: 'new <id> [--title T] [--from BUILTIN] [--signal S]... [--flags "/s /ns"] [--out DIR]',
    json: 'lines',
  },
  validate: {
    flags: ['allow-custom-commands', 'include-builtin'],
    usage: 'validate [scenarios] [--include-builtin]',
    json: 'own',
  },
  render: {
    flags: ['marker', 'allow-custom-commands'],
    usage: 'render <scenario file> [--marker MARKER]',
    json: 'own',
  },
  schema: { flags: ['write'], usage: 'schema [--write]', json: 'own' },
  verify: {
    flags: ['public-key', 'no-chain'],
    usage: 'verify <run-dir> [--public-key FILE] [--no-chain]',
    json: 'own',
  },
  report: {
    flags: ['format', 'out'],
    usage: 'report <run-dir> [--format FORMAT]... [--out DIR]',
    json: 'lines',
  },
  'report merge': {
    flags: ['config', 'reports-dir'],
    usage: 'report merge <run-dir>... [--reports-dir DIR]',
    json: 'lines',
  },
  history: {
    flags: ['config', 'reports-dir', 'scenario', 'signal', 'last'],
    usage: 'history [--reports-dir DIR] [--scenario ID] [--signal ID] [--last N] [--json]',
    json: 'own',
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commandTable;

/** The word a command starts with: `lab` for `lab up` and `lab smoke`. Runners and --help are per word. */
export type CommandWord = CommandName extends infer N ? (N extends `${infer W} ${string}` ? W : N) : never;

/** The usage's command lines, from the table. */
export const usageLines = Object.values(commandTable)
  .map((spec) => `  purple-harness ${spec.usage}`)
  .join('\n');
