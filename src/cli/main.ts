#!/usr/bin/env node
// Only what every command needs is loaded up front (not zod, the config schema or any plug-in), so
// --version and --help start fast; each command loads its own modules when it runs.
import { errorMessage, isHarnessError, ValidationError } from '../core/errors.js';
import { exitCodeForError, exitCodes, type ExitCode } from './exit-codes.js';
import { parseCommandLine, unknownCommand } from './flags.js';
import { commandRunners, version } from './dispatch.js';
import { createOutput, type Output } from './output.js';

const usage = `purple-harness: validate that your SIEM sees and detects CMSTP.exe abuse (T1218.003, AN0932)

Usage:
  purple-harness run [scenarios] [--config FILE] [--host NAME]... [--reports-dir DIR]
  purple-harness schedule --cron "EXPR" [--jitter DURATION] [--max-runs N] [run options]
  purple-harness doctor [--config FILE] [--json]
  purple-harness lab smoke --config FILE --host NAME [--out DIR]
  purple-harness lab up [--ssh-port N] [--hec-port N] [--lab-sensor PROFILE] [--pwsh PATH] [--out DIR]
  purple-harness import-atomic <T1218.003.yaml> [--out DIR] [--force] [--json]
  purple-harness plan [scenarios] [--config FILE] [--host NAME]... [--shard I/N] [--json]
  purple-harness cleanup --marker MARKER --config FILE [--host NAME]...
  purple-harness ingest <files...> [--rules DIR]... [--json]
  purple-harness signals --siem <local|splunk|sentinel|elastic> [--json]
  purple-harness new <id> [--title T] [--from BUILTIN] [--signal S]... [--flags "/s /ns"] [--out DIR]
  purple-harness validate [scenarios] [--include-builtin]
  purple-harness render <scenario file> [--marker MARKER]
  purple-harness schema [--write]
  purple-harness verify <run-dir> [--public-key FILE] [--no-chain]
  purple-harness report <run-dir> [--format FORMAT]... [--out DIR]
  purple-harness report merge <run-dir>... [--reports-dir DIR]
  purple-harness history [--reports-dir DIR] [--scenario ID] [--signal ID] [--last N] [--json]

With no --config, run uses the embedded lab: a simulated Windows host over SSH and a local SIEM.
Scenarios default to your own in ./scenarios/ (where new and import-atomic write) or, with none there, the
built-in ones; --include-builtin adds the built-in ones. A built-in can be named by its id.

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
  --include-builtin    run, plan, validate, doctor: add the built-in scenarios to those named or your own
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

/** Under --json a failure is one JSON document on stdout too, so a script never reads an empty answer. */
function jsonFailure(command: string | null, exitCode: ExitCode, error: unknown): string {
  const problem = isHarnessError(error)
    ? {
        code: error.code,
        message: error.message,
        hint: error.hint ?? null,
        ...(error instanceof ValidationError ? { issues: error.issues } : {}),
      }
    : { code: 'E_INTERNAL', message: errorMessage(error), hint: null };
  return JSON.stringify({ command, exitCode, error: problem }, null, 2);
}

async function main(argv: readonly string[], secrets = new Set<string>()): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    const output = createOutput(secrets, { debug: false, quiet: false });
    const code = printError(error, output, false);
    if (argv.includes('--json')) output.out(jsonFailure(null, code, error));
    return code;
  }
  const { values, positionals } = parsed;
  const [command, ...paths] = positionals;
  // Commands that print JSON of their own with --json; the others have their lines wrapped.
  const capture = values.json && command !== undefined && !nativeJson.has(command);
  const output = createOutput(secrets, { debug: values.debug, quiet: values.quiet, capture });
  if (values.help) {
    // Loaded only here: the help lists the registries' plug-ins, which --version need not load.
    const { commandHelp } = await import('./help.js');
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
      if (command === undefined) {
        output.out(usage);
        return exitCodes.invalidInput;
      }
      const runner = commandRunners[command];
      if (runner === undefined) throw unknownCommand(command);
      return await runner({ values, paths, output, secrets, signal: controller.signal });
    } catch (error) {
      let code: ExitCode;
      if (error instanceof ValidationError) {
        for (const issue of error.issues)
          output.err(`${issue.file}:${issue.line}:${issue.col}: ${issue.message}`);
        output.err(`Hint: ${error.hint ?? ''}`);
        code = exitCodes.invalidInput;
      } else code = printError(error, output, values.debug);
      // A command with JSON of its own prints the failure as JSON; the others' lines are wrapped below.
      if (values.json && !capture) output.out(jsonFailure(command ?? null, code, error));
      return code;
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
