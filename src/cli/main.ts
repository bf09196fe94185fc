#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPublicKey } from 'node:crypto';
import { loadConfigFile, loadEnv, type Env } from '../config/load.js';
import { signingKeyFrom } from '../config/signing-key.js';
import { HarnessConfig } from '../config/schema.js';
import {
  errorMessage,
  HarnessError,
  isHarnessError,
  realSleep,
  systemClock,
  ValidationError,
} from '../core/index.js';
import { packageRoot } from '../util/paths.js';
import { cleanupCommand } from './commands/cleanup.js';
import { ingestCommand } from './commands/ingest.js';
import { renderCommand } from './commands/render.js';
import { schemaCommand } from './commands/schema.js';
import { signalsCommand } from './commands/signals.js';
import { runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';
import { verifyCommand } from './commands/verify.js';
import { historyCommand } from './commands/history.js';
import { reportCommand } from './commands/report.js';
import { mergeCommand } from './commands/merge.js';
import { planCommand } from './commands/plan.js';
import { newCommand } from './commands/new.js';
import { doctorCommand } from './commands/doctor.js';
import { importAtomicCommand } from './commands/import-atomic.js';
import { labUpCommand } from './commands/lab-up.js';
import { labSmokeCommand } from './commands/lab-smoke.js';
import { scheduleCommand } from './commands/schedule.js';
import { parseShard } from '../pipeline/plan.js';
import { exitCodeForError, exitCodes, type ExitCode } from './exit-codes.js';
import { commandHelp } from './help.js';
import { createOutput, type Output } from './output.js';

const usage = `purple-harness: validate that your SIEM sees and detects CMSTP.exe abuse (T1218.003, AN0932)

Usage:
  purple-harness run [scenario files or folders] [--config FILE] [--host NAME]... [--reports-dir DIR]
  purple-harness schedule --cron "EXPR" [--jitter DURATION] [--max-runs N] [run options]
  purple-harness doctor [--config FILE] [--json]
  purple-harness lab smoke --config FILE --host NAME [--out DIR]
  purple-harness lab up [--ssh-port N] [--hec-port N] [--lab-sensor PROFILE] [--pwsh PATH] [--out DIR]
  purple-harness import-atomic <T1218.003.yaml> [--out DIR] [--force] [--json]
  purple-harness plan [scenario files or folders] [--config FILE] [--host NAME]... [--shard I/N] [--json]
  purple-harness cleanup --marker MARKER --config FILE [--host NAME]...
  purple-harness ingest <files...> [--rules DIR]... [--json]
  purple-harness signals --siem <local|splunk|sentinel|elastic> [--json]
  purple-harness new <id> [--title T] [--from BUILTIN] [--signal S]... [--flags "/s /ns"] [--out DIR]
  purple-harness validate [scenario files or folders]
  purple-harness render <scenario file> [--marker MARKER]
  purple-harness schema [--write]
  purple-harness verify <run-dir> [--public-key FILE] [--no-chain]
  purple-harness report <run-dir> [--format FORMAT]... [--out DIR]
  purple-harness report merge <run-dir>... [--reports-dir DIR]
  purple-harness history [--reports-dir DIR] [--scenario ID] [--signal ID] [--last N] [--json]

With no --config, run uses the embedded lab: a simulated Windows host over SSH and a local SIEM.
Scenarios default to the built-in ones in scenarios/.

Options:
  --config FILE        harness config (lab inventory, SIEM, reports); also PURPLE_HARNESS_CONFIG, or
                       ./purple-harness.config.yaml when present
  --host NAME          run only on this inventory host (repeatable)
  --reports-dir DIR    where reports go (default: reports/)
  --lab-drop SIGNAL    embedded lab only: drop the events of one AN0932 signal (repeatable)
  --lab-sensor NAME    embedded lab only: the host's Sysmon/4688 profile (full, no-access-imageload,
                       no-inf-files, no-cmmgr32-registry, no-sysmon-process-create,
                       sysmon-baseline)
  --allow-custom-commands
                       run scenarios whose payload is their own customCommand (review them first)
  --rules DIR          run, ingest: load more Sigma rules into the local SIEM (repeatable)
  --cron "EXPR"        schedule: when to run, as cron fields ("0 2 * * *": 02:00 daily)
  --jitter DURATION    schedule: start each run up to this much after its trigger (default 0s)
  --max-runs N         schedule: stop after N triggers (default: until stopped with Ctrl-C or SIGTERM)
  --timezone ZONE      schedule: IANA time zone of the cron expression (default: the machine's)
  --shard I/N          run, plan: only the I-th of N disjoint slices of the scenario x host pairs
                       (one job of a CI matrix or Kubernetes Indexed Job; merge with report merge)
  --concurrency N      run: how many hosts run at once (default: lab.concurrency, 4)
  --host NAME|tag:T    run, cleanup: only these inventory hosts (repeatable)
  --preflight MODE     run: strict skips a scenario on a host whose sensors cannot record an expected
                       signal; lenient (default) runs it and reports the blind spot
  --trust-new-host-keys
                       run: record the key of a host with no pinned key (verify it afterwards)
  --siem NAME          signals: the backend to compile for (local, splunk, sentinel, elastic)
  --json               ingest, signals: print JSON
  --title, --from, --template, --flags, --signal, --force
                       new: the scenario's title, a built-in scenario to start from, the INF template
                       (inf/NAME.inf.hbs), cmstp flags, expected signals (repeatable), overwrite
  --marker MARKER      render: use this run marker; cleanup: the run to clean up after
  --public-key FILE    verify: require a signature by this Ed25519 public key (PEM)
  --no-chain           verify: check this run alone, not the hash chain through earlier runs
  --scenario ID, --signal ID
                       history: only this scenario / signal
  --format FORMAT      report: json, markdown, html, junit, navigator or attire (repeatable; default all)
  --out DIR            report: where re-rendered reports go (default ./rerendered-<run-id>); lab smoke:
                       where its bundle goes (default reports/smoke/<run-id>)
  --pwsh PATH          lab up: run the remote scripts for real in this PowerShell 7 (the script-executing
                       target) instead of having the simulator carry them out
  --last N             history: how many recent runs to show per signal (default 20)
  --debug              print stack traces
  --quiet              print only results
  -h, --help           show this help; <command> --help shows the command's own, with examples
  -v, --version        print the version

Exit codes: 0 passed, 1 a detection assertion failed (verify: the bundle does not check out),
2 invalid input, 3 infrastructure error or inconclusive, 4 a regression (a signal that passed in the
previous comparable run fails now), 130 interrupted.`;

function parsePreflight(text: string): 'strict' | 'lenient' {
  if (text === 'strict' || text === 'lenient') return text;
  throw new HarnessError('E_USAGE', `--preflight takes strict or lenient, not "${text}"`);
}

const nativeJson = new Set([
  'run',
  'plan',
  'history',
  'doctor',
  'import-atomic',
  'ingest',
  'signals',
  'verify',
  'validate',
  'render',
  'schema',
]);

/** The config file a folder may hold without being named. */
const defaultConfigFile = 'purple-harness.config.yaml';

/**
 * The environment over .env, and the config from --config, PURPLE_HARNESS_CONFIG or ./purple-harness.config.yaml,
 * in that order (none: the embedded lab). Flags still override what the config says.
 */
function settings(configFlag: string | undefined): {
  env: Env;
  config: HarnessConfig;
  configFile: string | undefined;
} {
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

function parsePort(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new HarnessError('E_USAGE', `a port is a whole number from 0 to 65535, not "${text}"`);
  return value;
}

function parseLast(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1000)
    throw new HarnessError('E_USAGE', `--last must be a whole number from 1 to 1000, not "${text}"`);
  return value;
}

function parseConcurrency(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new HarnessError('E_USAGE', `--concurrency must be a whole number from 1 to 64, not "${text}"`);
  }
  return value;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

function printError(error: unknown, output: Output, debug: boolean): ExitCode {
  if (isHarnessError(error)) {
    output.err(`Error: ${error.message}`);
    output.err(`Code: ${error.code}`);
    if (error.hint !== undefined) output.err(`Hint: ${error.hint}`);
    if (debug && error.stack) output.err(error.stack);
    return exitCodeForError(error.category);
  }
  output.err(`Internal error: ${errorMessage(error)}`);
  output.err('This is a bug in purple-harness; please report it with the output of --debug.');
  if (debug && error instanceof Error && error.stack) output.err(error.stack);
  return exitCodes.infrastructure;
}

async function main(argv: readonly string[], secrets = new Set<string>()): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        host: { type: 'string', multiple: true, default: [] },
        'reports-dir': { type: 'string' },
        'lab-drop': { type: 'string', multiple: true, default: [] },
        'lab-sensor': { type: 'string' },
        'allow-custom-commands': { type: 'boolean', default: false },
        rules: { type: 'string', multiple: true, default: [] },
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
      },
    });
  } catch (error) {
    const output = createOutput(secrets, { debug: false, quiet: false });
    output.err(`Error: ${errorMessage(error)}`);
    output.err('Hint: run purple-harness --help');
    return exitCodes.invalidInput;
  }
  const { values, positionals } = parsed;
  const [command, ...paths] = positionals;
  // Commands that print JSON of their own with --json; the others have their lines wrapped.
  const capture = values.json && command !== undefined && !nativeJson.has(command);
  const output = createOutput(secrets, { debug: values.debug, quiet: values.quiet, capture });
  if (values.help) {
    output.out((command === undefined ? undefined : commandHelp[command]) ?? usage);
    return exitCodes.passed;
  }
  if (values.version) {
    output.out(version());
    return exitCodes.passed;
  }
  const controller = new AbortController();
  const onSigint = (): void => {
    output.err(
      '[purple-harness] interrupted: cleaning up and writing what was collected (Ctrl-C again to force)',
    );
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // A scheduler stopping the job (SIGTERM) gets the same treatment as Ctrl-C: clean up, write, exit 130.
  process.on('SIGTERM', onSigint);
  const dispatch = async (): Promise<ExitCode> => {
    try {
      switch (command) {
        case 'run':
        case 'schedule': {
          // Settings are read again for every run, so a scheduler picks up an edited config or .env.
          const runOnce = (): Promise<ExitCode> => {
            const { env, config } = settings(values.config);
            return runCommand(
              {
                paths,
                config,
                env,
                hosts: values.host,
                reportsDir: values['reports-dir'] ?? env.PURPLE_HARNESS_REPORTS_DIR,
                labDropSignals: values['lab-drop'],
                labSensor: values['lab-sensor'],
                allowCustomCommands: values['allow-custom-commands'],
                rules: values.rules,
                concurrency:
                  values.concurrency === undefined ? undefined : parseConcurrency(values.concurrency),
                trustNewHostKeys: values['trust-new-host-keys'],
                preflight: parsePreflight(values.preflight ?? config.defaults?.preflight ?? 'lenient'),
                shard: values.shard === undefined ? null : parseShard(values.shard),
                json: values.json,
                version: version(),
                secrets,
                signal: controller.signal,
              },
              output,
            );
          };
          if (command === 'run') return await runOnce();
          return await scheduleCommand(
            {
              cron: values.cron,
              jitter: values.jitter,
              maxRuns: values['max-runs'],
              timezone: values.timezone,
              // Input errors of a run stop the schedule at once; anything else is that run's result.
              validate: () => settings(values.config),
            },
            runOnce,
            { signal: controller.signal, output },
          );
        }
        case 'ingest': {
          const { env, config } = settings(values.config);
          return ingestCommand({ files: paths, config, rules: values.rules, json: values.json }, output, {
            logger: output.logger,
            clock: systemClock,
            sleep: realSleep,
            secrets,
            env,
          });
        }
        case 'cleanup': {
          const { env, config } = settings(values.config);
          return await cleanupCommand(
            { marker: values.marker, config, env, hosts: values.host, secrets },
            output,
            {
              logger: output.logger,
              clock: systemClock,
              sleep: realSleep,
              secrets,
              env,
            },
          );
        }
        case 'signals':
          return signalsCommand(values.siem, values.json, output);
        case 'validate':
          return validateCommand(paths, output, {
            allowCustomCommands: values['allow-custom-commands'],
            json: values.json,
          });
        case 'render':
          return renderCommand(paths, values.marker, output, {
            allowCustomCommands: values['allow-custom-commands'],
          });
        case 'schema':
          return schemaCommand(values.write, output);
        case 'new':
          return await newCommand(
            {
              id: paths[0],
              title: values.title,
              from: values.from,
              template: values.template,
              flags: values.flags,
              signals: values.signal,
              out: values.out,
              force: values.force,
              interactive: process.stdin.isTTY && !values.json && !values.quiet,
            },
            output,
          );
        case 'lab': {
          if (paths[0] === 'smoke') {
            const { env, config, configFile } = settings(values.config);
            return await labSmokeCommand(
              {
                config,
                configFile,
                env,
                hosts: values.host,
                out: values.out,
                version: version(),
                secrets,
                signal: controller.signal,
              },
              output,
            );
          }
          if (paths[0] !== 'up')
            throw new HarnessError('E_USAGE', `unknown lab command "${paths[0] ?? ''}"`, {
              hint: 'purple-harness lab up [--ssh-port N] [--hec-port N] [--lab-sensor PROFILE] [--pwsh PATH], or purple-harness lab smoke --config FILE --host NAME',
            });
          const { env } = settings(values.config);
          return await labUpCommand(
            {
              env,
              dir: values.out ?? join('.purple-harness', 'lab-up'),
              sshPort: values['ssh-port'] === undefined ? 0 : parsePort(values['ssh-port']),
              hecPort: values['hec-port'] === undefined ? 0 : parsePort(values['hec-port']),
              sensor: values['lab-sensor'],
              pwsh: values.pwsh,
              secrets,
              signal: controller.signal,
            },
            output,
          );
        }
        case 'import-atomic':
          return importAtomicCommand(
            paths,
            { out: values.out, force: values.force, json: values.json },
            output,
          );
        case 'doctor': {
          const { env, config, configFile } = settings(values.config);
          return await doctorCommand(
            {
              config,
              configFile: configFile ?? null,
              env,
              paths,
              reportsDir:
                values['reports-dir'] ?? env.PURPLE_HARNESS_REPORTS_DIR ?? config.reports?.dir ?? 'reports',
              json: values.json,
            },
            output,
          );
        }
        case 'plan': {
          const { config } = settings(values.config);
          return planCommand(
            {
              paths,
              config,
              hosts: values.host,
              shard: values.shard === undefined ? null : parseShard(values.shard),
              json: values.json,
              allowCustomCommands: values['allow-custom-commands'],
            },
            output,
          );
        }
        case 'history': {
          const { env, config } = settings(values.config);
          return historyCommand(
            {
              reportsDir:
                values['reports-dir'] ?? env.PURPLE_HARNESS_REPORTS_DIR ?? config.reports?.dir ?? 'reports',
              scenario: values.scenario,
              signal: values.signal[0],
              json: values.json,
              last: values.last === undefined ? 20 : parseLast(values.last),
            },
            output,
          );
        }
        case 'report': {
          if (paths[0] === 'merge') {
            const { env, config } = settings(values.config);
            return await mergeCommand(
              paths.slice(1),
              {
                config,
                reportsDir:
                  values['reports-dir'] ?? env.PURPLE_HARNESS_REPORTS_DIR ?? config.reports?.dir ?? 'reports',
                version: version(),
                secrets,
              },
              output,
            );
          }
          return reportCommand(paths, { formats: values.format, out: values.out }, output);
        }
        case 'verify': {
          // With a signing key configured, an unsigned or otherwise-signed bundle is not accepted.
          const signingKey = signingKeyFrom(loadEnv(process.cwd(), process.env), new Set());
          return verifyCommand(
            paths,
            {
              publicKey: values['public-key'],
              configuredKey: signingKey === null ? null : createPublicKey(signingKey),
              chain: !values['no-chain'],
              json: values.json,
            },
            output,
          );
        }
        case undefined:
          output.out(usage);
          return exitCodes.invalidInput;
        default:
          throw new HarnessError('E_USAGE', `unknown command "${command}"`, {
            hint: 'Commands: run, schedule, plan, new, import-atomic, doctor, lab smoke, lab up, cleanup, ingest, signals, validate, render, schema, verify, report, history. See --help.',
          });
      }
    } catch (error) {
      if (error instanceof ValidationError) {
        for (const issue of error.issues)
          output.err(`${issue.file}:${issue.line}:${issue.col}: ${issue.message}`);
        output.err(`Hint: ${error.hint ?? ''}`);
        return exitCodes.invalidInput;
      }
      return printError(error, output, values.debug);
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  };
  const code = await dispatch();
  output.finish();
  // --json on a command with no JSON of its own: its lines, as one document.
  if (capture)
    process.stdout.write(
      `${JSON.stringify({ command, exitCode: code, output: output.captured() }, null, 2)}\n`,
    );
  return code;
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(exitCodes.passed);
  throw error;
});

// The one place that sets the process exit code.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
