import test from 'ava';
import fc from 'fast-check';
import { join } from 'node:path';
import { HarnessError } from '../../src/core/index.js';
import { psq } from '../../src/render/engine.js';
import { renderEmulation } from '../../src/render/render.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';

/*
 * No value reaches the INF or a PowerShell script as anything but data: whatever a scenario input holds,
 * the rendered INF keeps exactly its sections and lines, and every PowerShell literal reads back as the
 * value it was given. Fixed seeds; what is refused is refused as E_UNSAFE_VALUE (exit 2), never a crash.
 */
const seed = 20261124;
const marker = 'phfuzz00000001';
const [scenario] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
if (scenario === undefined) throw new Error('built-in scenario missing');

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc
    .array(
      fc.constantFrom(
        '[',
        ']',
        ';',
        '%',
        '"',
        ',',
        '\r',
        '\n',
        '\r\n',
        '[DefaultInstall]',
        'RunPreSetupCommands=calc.exe',
        "'",
        '`',
        '$(calc)',
        '\u2019',
        'x',
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join('')),
);

const infShape = (inf: string) => {
  const infLines = inf.split(/\r?\n/);
  return {
    lines: infLines.length,
    sections: infLines.filter((l) => l.startsWith('[')),
    directives: infLines.filter((l) => /^[A-Za-z]+=/.test(l) && !l.startsWith('ServiceName=')).length,
  };
};
const baseline = infShape(
  renderEmulation(scenario, { marker, inputs: { serviceName: 'Benign' } }).payload?.content ?? '',
);

test('any service name either renders as plain data in the INF or is refused: never a new section or command', (t) => {
  let refused = 0;
  let rendered = 0;
  fc.assert(
    fc.property(hostile, (value) => {
      try {
        const inf =
          renderEmulation(scenario, { marker, inputs: { serviceName: value } }).payload?.content ?? '';
        rendered += 1;
        const shape = infShape(inf);
        return (
          shape.lines === baseline.lines &&
          JSON.stringify(shape.sections) === JSON.stringify(baseline.sections) &&
          shape.directives === baseline.directives &&
          !inf.includes('calc')
        );
      } catch (error) {
        refused += 1;
        return error instanceof HarnessError && error.code === 'E_UNSAFE_VALUE';
      }
    }),
    { seed, numRuns: 500 },
  );
  t.true(refused > 0 && rendered > 0, `refused ${String(refused)}, rendered ${String(rendered)}`);
});

/** How PowerShell reads a single-quoted literal: any of its four quote characters, doubled, is one. */
function readPowerShellLiteral(literal: string): string | null {
  const quotes = /['\u2018\u2019\u201a\u201b]/;
  if (!quotes.test(literal[0] ?? '') || !quotes.test(literal.at(-1) ?? '')) return null;
  let out = '';
  const body = literal.slice(1, -1);
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i] ?? '';
    if (quotes.test(c)) {
      if (body[i + 1] !== c) return null; // an undoubled quote would end the literal early
      i += 1;
    }
    out += c;
  }
  return out;
}

test('every PowerShell literal reads back as exactly the value given, or the value is refused', (t) => {
  fc.assert(
    fc.property(hostile, (value) => {
      try {
        return readPowerShellLiteral(psq(value)) === value;
      } catch (error) {
        return error instanceof HarnessError && /[\r\n\0]/.test(value);
      }
    }),
    { seed, numRuns: 500 },
  );
  t.pass();
});

test("clean-up's list of created keys stays one parameter line whatever the keys are called", (t) => {
  const { operations } = renderEmulation(scenario, { marker });
  fc.assert(
    fc.property(fc.array(hostile, { maxLength: 4 }), (keys) => {
      try {
        const script = operations.cleanup(keys).script;
        const line = script.split('\n').find((l) => l.startsWith('$PhCreatedKeys = '));
        return (
          line !== undefined &&
          readPowerShellLiteral(line.slice('$PhCreatedKeys = '.length).trimEnd()) === keys.join('|')
        );
      } catch (error) {
        return error instanceof HarnessError && keys.some((k) => /[\r\n\0]/.test(k));
      }
    }),
    { seed, numRuns: 300 },
  );
  t.pass();
});
