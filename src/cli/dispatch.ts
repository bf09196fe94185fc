import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../config/load.js';
import type { HarnessConfig } from '../config/schema.js';
import { reportsDirOf } from '../config/defaults.js';
import { HarnessError } from '../core/errors.js';
import { realSleep, systemClock } from '../core/context.js';
import { oneOf } from '../util/did-you-mean.js';
import { packageRoot } from '../util/paths.js';
import type { CommandWord } from './command-table.js';
import type { ExitCode } from './exit-codes.js';
import type { ParsedCommandLine } from './flags.js';
import type { Output } from './output.js';

/** What every command is handed: its flags and operands, the output, the run's secrets and Ctrl-C. */
export interface CommandCall {
  readonly values: ParsedCommandLine['values'];
  /** The positionals after the command word. */
  readonly paths: readonly string[];
  readonly output: Output;
  readonly secrets: Set<string>;
  readonly signal: AbortSignal;
}

type Runner = (call: CommandCall) => Promise<ExitCode>;

/** The config file a folder may hold without being named. */
const defaultConfigFile = 'purple-harness.config.yaml';

const preflightModes = ['strict', 'lenient'] as const;

/**
 * The environment over .env, and the config from --config, PURPLE_HARNESS_CONFIG or ./purple-harness.config.yaml,
 * in that order (none: the embedded lab). Flags still override what the config says.
 */
async function settings(configFlag: string | undefined): Promise<{
  env: Env;
  config: HarnessConfig;
  configFile: string | undefined;
}> {
  const { loadConfigFile, loadEnv } = await import('../config/load.js');
  const { HarnessConfig } = await import('../config/schema.js');
  const env = loadEnv(process.cwd(), process.env);
  const configFile =
    configFlag ??
    env.PURPLE_HARNESS_CONFIG ??
    (existsSync(defaultConfigFile) ? defaultConfigFile : undefined);
  return {
    env,
    config: configFile === undefined ? HarnessConfig.parse({}) : loadConfigFile(configFile),
    configFile,
  };
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new HarnessError(
      'E_USAGE',
      `${what} must be a whole number from ${String(min)} to ${String(max)}, not "${text}"`,
    );
  return value;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** A plug-in's context for the commands that open one outside a run (ingest, cleanup). */
const pluginContext = (call: CommandCall, env: Env) => ({
  logger: call.output.logger,
  clock: systemClock,
  sleep: realSleep,
  secrets: call.secrets,
  env,
});

/** One run with the flags as given; settings are read again each time, so a schedule sees an edited config. */
async function runOnce(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { signalIds } = await import('../core/scenario-model.js');
  const { sensorProfileNames } = await import('../lab/sensor-profiles.js');
  const { parseShard } = await import('../pipeline/plan.js');
  const { env, config } = await settings(values.config);
  const { runCommand } = await import('./commands/run.js');
  return runCommand(
    {
      paths: call.paths,
      includeBuiltin: values['include-builtin'],
      config,
      env,
      hosts: values.host,
      reportsDir: reportsDirOf(values['reports-dir'], env, config),
      labDropSignals: values['lab-drop'].map((id) => oneOf('--lab-drop', id, signalIds)),
      labSensor:
        values['lab-sensor'] === undefined
          ? undefined
          : oneOf('--lab-sensor', values['lab-sensor'], sensorProfileNames),
      allowCustomCommands: values['allow-custom-commands'],
      rules: values.rules,
      concurrency:
        values.concurrency === undefined
          ? undefined
          : wholeNumber(values.concurrency, '--concurrency', 1, 1024),
      trustNewHostKeys: values['trust-new-host-keys'],
      preflight: oneOf(
        '--preflight',
        values.preflight ?? config.defaults?.preflight ?? 'lenient',
        preflightModes,
      ),
      shard: values.shard === undefined ? null : parseShard(values.shard),
      json: values.json,
      version: version(),
      secrets: call.secrets,
      signal: call.signal,
    },
    call.output,
  );
}

async function schedule(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { scheduleCommand } = await import('./commands/schedule.js');
  return scheduleCommand(
    {
      cron: values.cron,
      jitter: values.jitter,
      maxRuns: values['max-runs'],
      timezone: values.timezone,
      // Input errors of a run stop the schedule at once; anything else is that run's result.
      validate: () => settings(values.config),
    },
    () => runOnce(call),
    { signal: call.signal, output: call.output },
  );
}

async function ingest(call: CommandCall): Promise<ExitCode> {
  const { env, config } = await settings(call.values.config);
  const { ingestCommand } = await import('./commands/ingest.js');
  return ingestCommand(
    { files: call.paths, config, rules: call.values.rules, json: call.values.json },
    call.output,
    pluginContext(call, env),
  );
}

async function cleanup(call: CommandCall): Promise<ExitCode> {
  const { env, config } = await settings(call.values.config);
  const { cleanupCommand } = await import('./commands/cleanup.js');
  return cleanupCommand(
    { marker: call.values.marker, config, env, hosts: call.values.host, secrets: call.secrets },
    call.output,
    pluginContext(call, env),
  );
}

async function newScenario(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { newCommand } = await import('./commands/new.js');
  return newCommand(
    {
      id: call.paths[0],
      title: values.title,
      from: values.from,
      template: values.template,
      flags: values.flags,
      signals: values.signal,
      out: values.out,
      force: values.force,
      interactive: process.stdin.isTTY && !values.json && !values.quiet,
    },
    call.output,
  );
}

async function labSmoke(call: CommandCall): Promise<ExitCode> {
  const { env, config, configFile } = await settings(call.values.config);
  const { labSmokeCommand } = await import('./commands/lab-smoke.js');
  return labSmokeCommand(
    {
      config,
      configFile,
      env,
      hosts: call.values.host,
      out: call.values.out,
      version: version(),
      secrets: call.secrets,
      signal: call.signal,
    },
    call.output,
  );
}

async function labUp(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { env } = await settings(values.config);
  const { labUpCommand } = await import('./commands/lab-up.js');
  return labUpCommand(
    {
      env,
      dir: values.out ?? join('.purple-harness', 'lab-up'),
      sshPort: values['ssh-port'] === undefined ? 0 : wholeNumber(values['ssh-port'], 'a port', 0, 65535),
      hecPort: values['hec-port'] === undefined ? 0 : wholeNumber(values['hec-port'], 'a port', 0, 65535),
      sensor: values['lab-sensor'],
      pwsh: values.pwsh,
      secrets: call.secrets,
      signal: call.signal,
    },
    call.output,
  );
}

function lab(call: CommandCall): Promise<ExitCode> {
  const [sub] = call.paths;
  if (sub === 'smoke') return labSmoke(call);
  if (sub === 'up') return labUp(call);
  throw new HarnessError('E_USAGE', `unknown lab command "${sub ?? ''}"`, {
    hint: 'purple-harness lab up [--ssh-port N] [--hec-port N] [--lab-sensor PROFILE] [--pwsh PATH], or purple-harness lab smoke --config FILE --host NAME',
  });
}

async function doctor(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { env, config, configFile } = await settings(values.config);
  const { doctorCommand } = await import('./commands/doctor.js');
  return doctorCommand(
    {
      config,
      configFile: configFile ?? null,
      env,
      paths: call.paths,
      includeBuiltin: values['include-builtin'],
      reportsDir: reportsDirOf(values['reports-dir'], env, config),
      json: values.json,
    },
    call.output,
  );
}

async function plan(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { config } = await settings(values.config);
  const { parseShard } = await import('../pipeline/plan.js');
  const { planCommand } = await import('./commands/plan.js');
  return planCommand(
    {
      paths: call.paths,
      config,
      hosts: values.host,
      shard: values.shard === undefined ? null : parseShard(values.shard),
      json: values.json,
      allowCustomCommands: values['allow-custom-commands'],
      includeBuiltin: values['include-builtin'],
    },
    call.output,
  );
}

async function tuning(call: CommandCall): Promise<ExitCode> {
  const { values, paths } = call;
  if (paths[0] !== 'plan')
    throw new HarnessError('E_USAGE', `unknown tuning command "${paths[0] ?? ''}"`, {
      hint: 'purple-harness tuning plan [--config FILE] [--out DIR] [--force]',
    });
  const { config } = await settings(values.config);
  const { tuningPlanCommand } = await import('./commands/tuning-plan.js');
  return tuningPlanCommand(
    { config, out: values.out ?? 'tuning-plan', force: values.force, json: values.json },
    call.output,
  );
}

async function history(call: CommandCall): Promise<ExitCode> {
  const { values } = call;
  const { env, config } = await settings(values.config);
  const { historyCommand } = await import('./commands/history.js');
  return historyCommand(
    {
      reportsDir: reportsDirOf(values['reports-dir'], env, config),
      scenario: values.scenario,
      signal: values.signal[0],
      json: values.json,
      last: values.last === undefined ? 20 : wholeNumber(values.last, '--last', 1, 1000),
    },
    call.output,
  );
}

async function report(call: CommandCall): Promise<ExitCode> {
  const { values, paths } = call;
  if (paths[0] !== 'merge') {
    const { reportCommand } = await import('./commands/report.js');
    return reportCommand(paths, { formats: values.format, out: values.out }, call.output);
  }
  const { env, config } = await settings(values.config);
  const { mergeCommand } = await import('./commands/merge.js');
  return mergeCommand(
    paths.slice(1),
    {
      config,
      reportsDir: reportsDirOf(values['reports-dir'], env, config),
      version: version(),
      secrets: call.secrets,
    },
    call.output,
  );
}

async function verify(call: CommandCall): Promise<ExitCode> {
  // With a signing key configured, an unsigned or otherwise-signed bundle is not accepted.
  const { signingKeyFrom } = await import('../config/signing-key.js');
  const { loadEnv } = await import('../config/load.js');
  const { createPublicKey } = await import('node:crypto');
  const signingKey = signingKeyFrom(loadEnv(process.cwd(), process.env), new Set());
  const { verifyCommand } = await import('./commands/verify.js');
  return verifyCommand(
    call.paths,
    {
      publicKey: call.values['public-key'],
      configuredKey: signingKey === null ? null : createPublicKey(signingKey),
      chain: !call.values['no-chain'],
      json: call.values.json,
    },
    call.output,
  );
}

/** Every command word and what runs it; each loads its own modules only when it runs. */
export const commandRunners = {
  run: runOnce,
  schedule,
  ingest,
  cleanup,
  signals: async ({ values, output }) =>
    (await import('./commands/signals.js')).signalsCommand(values.siem, values.json, output),
  validate: async ({ values, paths, output }) =>
    (await import('./commands/validate.js')).validateCommand(paths, output, {
      allowCustomCommands: values['allow-custom-commands'],
      includeBuiltin: values['include-builtin'],
      json: values.json,
    }),
  render: async ({ values, paths, output }) =>
    (await import('./commands/render.js')).renderCommand(paths, values.marker, output, {
      allowCustomCommands: values['allow-custom-commands'],
      json: values.json,
    }),
  schema: async ({ values, output }) =>
    (await import('./commands/schema.js')).schemaCommand(values.write, output),
  new: newScenario,
  lab,
  'import-atomic': async ({ values, paths, output }) =>
    (await import('./commands/import-atomic.js')).importAtomicCommand(
      paths,
      { out: values.out, force: values.force, json: values.json },
      output,
    ),
  doctor,
  plan,
  tuning,
  history,
  report,
  verify,
} satisfies Record<CommandWord, Runner>;

/** Whether a word on the command line names a command (`lab`, `report`, `run`, ...). */
export const isCommandWord = (word: string): word is CommandWord => Object.hasOwn(commandRunners, word);
