#!/usr/bin/env node
// Only what every command needs is loaded up front (not zod, the config schema or any plug-in), so
// --version starts fast (--help loads the registries' light entries); each command loads its own modules when it runs.
import { setMaxListeners } from 'node:events';
import { errorMessage, isHarnessError, ValidationError } from '../core/errors.js';
import { exitCodeForError, exitCodes, type ExitCode } from './exit-codes.js';
import { commandTable } from './command-table.js';
import { parseCommandLine, unknownCommand } from './flags.js';
import { commandRunners, isCommandWord, version } from './dispatch.js';
import { createOutput, type Output } from './output.js';

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
  const capture = values.json && parsed.command !== null && commandTable[parsed.command].json === 'lines';
  const output = createOutput(secrets, { debug: values.debug, quiet: values.quiet, capture });
  if (values.help) {
    // Loaded only here: the help lists the registries' plug-ins, which --version need not load.
    const { commandHelp, usage } = await import('./help.js');
    output.out(command !== undefined && isCommandWord(command) ? commandHelp[command] : usage);
    return exitCodes.passed;
  }
  if (values.version) {
    output.out(version());
    return exitCodes.passed;
  }
  const controller = new AbortController();
  // Every host in flight listens for the interrupt, and a fleet run has hundreds: not a listener leak.
  setMaxListeners(0, controller.signal);
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
        output.out((await import('./help.js')).usage);
        return exitCodes.invalidInput;
      }
      const runner = isCommandWord(command) ? commandRunners[command] : undefined;
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
