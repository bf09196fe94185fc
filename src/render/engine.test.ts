import test from 'ava';
import { HarnessError } from '../core/index.js';
import { checkInfValue, compileStrict, createCommandEngine, findEscapedMustaches, psq } from './engine.js';

test('psq quotes for PowerShell single-quoted strings', (t) => {
  t.is(psq("it's"), "'it''s'");
  t.is(psq('C:\\a b\\c'), "'C:\\a b\\c'");
  t.is(psq(['a', 'b']), "'a|b'");
  t.throws(() => psq('a\nb'), { instanceOf: HarnessError });
});

const injections = [
  ['LF', 'x\n[DefaultInstall]'],
  ['CR', 'x\rRunPreSetupCommands=evil'],
  ['"[",', 'x [evil]'],
  ['"\\""', 'say "hi"'],
  ['"%"', '%11%\\scrobj.dll'],
  ['";"', 'a ; comment'],
  ['","', 'a,b'],
] as const;

for (const [shown, value] of injections) {
  test(`INF values reject ${shown}`, (t) => {
    const error = t.throws(
      () => {
        checkInfValue('inputs.serviceName', value);
      },
      { instanceOf: HarnessError },
    );
    t.is(error.code, 'E_UNSAFE_VALUE');
    t.true(error.message.includes('inputs.serviceName'));
  });
}

test('INF values accept ordinary names and paths', (t) => {
  t.notThrows(() => {
    checkInfValue('x', 'Purple Harness Validation ph1234567890');
    checkInfValue('x', 'cmd.exe /c echo ph1> C:\\ProgramData\\purple-harness\\runs\\ph1\\ph1.txt');
  });
});

test('a single backslash before {{ is found; an escaped backslash is not', (t) => {
  t.deepEqual(findEscapedMustaches('C:\\dir\\{{file}}'), [{ line: 1, col: 7 }]);
  t.deepEqual(findEscapedMustaches('C:\\dir\\\\{{file}}'), []);
  t.deepEqual(findEscapedMustaches('a\n{{x}} b\\{{y}}'), [{ line: 2, col: 8 }]);
});

test('command templates are strict: a missing variable throws', (t) => {
  const engine = createCommandEngine();
  const template = compileStrict(engine, 'run {{missing}}', 't');

  t.throws(() => template({}), { any: true, message: /"missing" not defined/ });
  t.is(compileStrict(engine, '{{x}}', 't')({ x: '<&>' }), '<&>');
});

test('compileStrict refuses a template with an escaped mustache', (t) => {
  const error = t.throws(() => compileStrict(createCommandEngine(), 'C:\\x\\{{file}}', 'inf/x.inf.hbs'), {
    instanceOf: HarnessError,
  });

  t.is(error.code, 'E_TEMPLATE');
  t.regex(error.message, /inf\/x\.inf\.hbs:1:5/);
});
