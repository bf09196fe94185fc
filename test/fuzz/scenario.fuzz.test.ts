import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/load.js';
import { ValidationError, isHarnessError, signalIds } from '../../src/core/index.js';
import { loadScenarioText } from '../../src/scenario/load.js';
import { repoRoot, runCli } from '../helpers/cli.js';

/*
 * Generated bad scenario and config files, with fixed seeds: each must be refused with a location inside
 * the file (what `validate` prints as file:line:col and exits 2 on), and nothing may crash.
 */
const seed = 20261124;
const base = readFileSync(join(repoRoot, 'builtin-scenarios', 'cmstp-local-inf-presetup.yaml'), 'utf8');
const lines = base.split('\n');

const identifier = fc.stringMatching(/^[a-z][a-zA-Z0-9]{2,12}$/);
const junk = fc.string({ unit: 'binary', maxLength: 40 });
const scalar = fc.oneof(
  junk.map((s) => JSON.stringify(s)),
  fc.integer().map(String),
  fc.constantFrom('true', 'null', '[]', '{}', '~'),
);

/** Ways to break a valid scenario; each result is invalid by construction. */
const badScenario = fc.oneof(
  // An unknown top-level key (strict schema).
  fc
    .tuple(identifier, scalar)
    .filter(
      ([k]) =>
        !/^(schemaVersion|id|title|description|technique|analytic|allowElevation|inputs|emulation|expect|timeouts)$/.test(
          k,
        ),
    )
    .map(([key, value]) => `${base}${key}: ${value}\n`),
  // A known field with a value of the wrong kind.
  fc
    .tuple(
      fc.constantFrom('schemaVersion', 'technique', 'analytic', 'id'),
      fc.oneof(
        junk.map((s) => JSON.stringify(`x${s}`)),
        fc.constantFrom('[]', '{}', '2', '-1'),
      ),
    )
    .map(([field, value]) =>
      lines.map((l) => (l.startsWith(`${field}:`) ? `${field}: ${value}` : l)).join('\n'),
    ),
  // An expectation naming no AN0932 signal.
  identifier
    .filter((s) => !(signalIds as readonly string[]).includes(s))
    .map((signal) => base.replace('- signal: cmstp-exec', `- signal: ${signal}`)),
  // A required line removed.
  fc
    .constantFrom('id:', 'title:', 'technique:', 'expect:', 'emulation:')
    .map((key) => lines.filter((l) => !l.startsWith(key)).join('\n')),
  // Garbage spliced in before a top-level key, where YAML cannot read it as part of a value.
  fc
    .tuple(
      fc.constantFrom(...lines.flatMap((l, i) => (i > 0 && /^[a-z]/.test(l) ? [i] : []))),
      fc.constantFrom(': :', '- [', '{{{', '"unterminated', '- : x', '@x', '`x', '? ['),
    )
    .map(([at, text]) => [...lines.slice(0, at), text, ...lines.slice(at)].join('\n')),
);

test('500 generated bad scenarios: each is refused with a location in the file, and nothing crashes', (t) => {
  let checked = 0;
  fc.assert(
    fc.property(badScenario, (text) => {
      const outcome = loadScenarioText('fuzz.yaml', text);
      checked += 1;
      const lineCount = text.split('\n').length;
      return (
        outcome.scenarios.length === 0 &&
        outcome.issues.length > 0 &&
        outcome.issues.every(
          (i) =>
            i.file === 'fuzz.yaml' &&
            i.line >= 1 &&
            i.line <= lineCount + 1 &&
            i.col >= 1 &&
            i.message.length > 0,
        )
      );
    }),
    { seed, numRuns: 500 },
  );
  t.is(checked, 500);
});

test('500 generated bad config files: each is refused as invalid input with locations, and nothing crashes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-fuzz-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const goodHost = [
    'lab:',
    '  hosts:',
    '    - name: WIN10-LAB-01',
    '      address: 10.0.0.5',
    '      username: labadmin',
    '      passwordEnv: LAB_PASSWORD',
    '      lab: true',
  ];
  const badConfig = fc.oneof(
    fc
      .tuple(identifier, scalar)
      .filter(
        ([k]) => !/^(lab|stopFile|executor|siem|payloadServer|defaults|controls|notify|reports)$/.test(k),
      )
      .map(([k, v]) => `${k}: ${v}\n`),
    fc
      .tuple(
        fc.constantFrom('port', 'lab', 'passwordEnv', 'name', 'hostKeySha256'),
        scalar.filter((v) => v !== 'true'),
      )
      .map(([field, value]) =>
        [...goodHost.filter((l) => !l.trim().startsWith(`${field}:`)), `      ${field}: ${value}`].join('\n'),
      ),
    fc
      .constantFrom('splunk', 'elastic', 'sentinel', 'command', 'qradar', 'local ')
      .map((type) => `siem:\n  type: ${type}\n  bogus: 1\n`),
    junk.map((s) => `reports:\n  formats: [${JSON.stringify(s)}]\n`),
  );
  let n = 0;
  fc.assert(
    fc.property(badConfig, (text) => {
      const file = join(dir, `c${String((n += 1))}.yaml`);
      writeFileSync(file, text);
      try {
        loadConfigFile(file);
        return false;
      } catch (error) {
        if (!(error instanceof ValidationError)) return isHarnessError(error) && error.category === 'input';
        return (
          error.category === 'input' &&
          error.issues.length > 0 &&
          error.issues.every((i) => i.line >= 1 && i.col >= 1)
        );
      }
    }),
    { seed, numRuns: 500 },
  );
  t.is(n, 500);
});

test('through the CLI: validate exits 2 and prints file:line:col for a sample of the generated scenarios', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-fuzz-cli-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const samples = fc.sample(badScenario, { seed, numRuns: 8 });
  for (const [i, text] of samples.entries()) {
    const file = join(dir, `bad-${String(i)}.yaml`);
    writeFileSync(file, text);
    const result = await runCli(['validate', file], { cwd: dir });
    t.is(result.exitCode, 2, text);
    t.regex(result.stderr, new RegExp(`bad-${String(i)}\\.yaml:\\d+:\\d+: `));
  }
});
