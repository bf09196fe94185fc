import test from 'ava';
import { HarnessError } from '../core/index.js';
import { oneOf } from '../util/did-you-mean.js';
import { commandOf, parseCommandLine, unknownCommand } from './flags.js';

const refusal = (argv: readonly string[]) => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof HarnessError) return { code: error.code, message: error.message, hint: error.hint };
    throw error;
  }
  return null;
};

test('#18 a flag the command does not take is refused, naming the commands that take it', (t) => {
  t.deepEqual(refusal(['validate', '--cron', 'x']), {
    code: 'E_USAGE',
    message: 'validate does not take --cron (schedule takes it)',
    hint: 'validate takes --allow-custom-commands, --include-builtin; see purple-harness validate --help.',
  });
  t.regex(
    refusal(['validate', 'a.yaml', '--ssh-port', '99'])?.message ?? '',
    /^validate does not take --ssh-port \(lab up takes it\)$/,
  );
  t.regex(
    refusal(['doctor', '--lab-drop', 'child-process'])?.message ?? '',
    /^doctor does not take --lab-drop \(run, schedule take it\)$/,
  );
  t.regex(refusal(['lab', 'up', '--host', 'x'])?.message ?? '', /^lab up does not take --host/);
});

test('#18 the flags a command takes, the global ones and sub-commands pass', (t) => {
  t.is(refusal(['run', '--lab-drop', 'child-process', '--json', '--quiet']), null);
  t.is(refusal(['schedule', '--cron', '0 2 * * *', '--host', 'a']), null);
  t.is(refusal(['report', 'merge', 'a', 'b', '--reports-dir', 'r']), null);
  t.is(refusal(['report', 'reports/latest', '--format', 'html']), null);
  t.is(refusal(['--config', 'c.yaml', 'run']), null);
  t.is(commandOf(['lab', 'up']), 'lab up');
  t.is(commandOf(['report', 'reports/latest']), 'report');
  t.is(commandOf([]), null);
});

test('#18 an unknown flag or a missing value is said in our words, with the near miss', (t) => {
  t.deepEqual(
    refusal(['run', '--lab-dorp', 'x'])?.message,
    'there is no flag --lab-dorp. Did you mean --lab-drop?',
  );
  t.is(refusal(['run', '--zzzzzzzz'])?.message, 'there is no flag --zzzzzzzz.');
  t.is(refusal(['run', '--config'])?.message, '--config needs a value');
  t.notRegex(
    JSON.stringify(refusal(['run', '--lab-dorp'])),
    /To specify a positional argument|ERR_PARSE_ARGS/,
  );
});

test('#18 enum-like values and commands get a did-you-mean and the choices', (t) => {
  const error = t.throws(() => oneOf('--lab-drop', 'child-proces', ['cmstp-exec', 'child-process']), {
    instanceOf: HarnessError,
  });
  t.is(error.message, '--lab-drop does not take "child-proces". Did you mean "child-process"?');
  t.is(error.hint, '--lab-drop takes one of: cmstp-exec, child-process.');
  t.is(oneOf('--preflight', 'strict', ['strict', 'lenient']), 'strict');
  t.is(unknownCommand('valdate').message, 'unknown command "valdate". Did you mean "validate"?');
  t.is(unknownCommand('frobnicate').message, 'unknown command "frobnicate".');
});
