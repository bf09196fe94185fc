import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// #18: mistakes that used to read as detection gaps (or pass) each stop at exit 2 with a sentence naming
// the problem and the fix, before anything runs.

test('#18 a misspelt --lab-drop signal is refused with the near miss, and nothing runs', async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(['run', '--lab-drop', 'child-proces', '--reports-dir', 'reports'], { cwd });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(
    result.stderr,
    /^Error: --lab-drop does not take "child-proces"\. Did you mean "child-process"\?$/m,
  );
  t.regex(result.stderr, /^Hint: --lab-drop takes one of: cmstp-exec, .*child-process/m);
  t.notRegex(result.stderr, /embedded lab/);
  t.false(existsSync(join(cwd, 'reports')));
});

test('#18 a flag another command takes is refused: validate --cron', async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(['validate', '--cron', 'x', '--ssh-port', '99'], { cwd });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, /^Error: validate does not take --cron \(schedule takes it\)$/m);
  t.regex(
    result.stderr,
    /^Hint: validate takes --allow-custom-commands, --include-builtin; see purple-harness validate --help\.$/m,
  );
});

test('#18 new refuses a signal its emulation cannot produce, and writes nothing', async (t) => {
  const cwd = tempDir(t);

  const result = await runCli(['new', 'my-variant', '--signal', 'remote-fetch', '--out', 'mine'], { cwd });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(
    result.stderr,
    /this emulation has no scriptlet, so cmstp fetches nothing and remote-fetch cannot be captured: add a scriptlet/,
  );
  t.false(existsSync(join(cwd, 'mine', 'my-variant.yaml')));
});

test('#18 a config value of the wrong type is named at its line with the fix', async (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'harness.yaml'),
    'lab:\n  hosts:\n    - name: a\n      address: 127.0.0.1\n      port: "twenty"\n      username: x\n      passwordEnv: P\n      lab: true\n',
  );

  const result = await runCli(['doctor', '--config', 'harness.yaml'], { cwd });

  t.is(result.exitCode, 2, result.stderr);
  t.regex(
    result.stderr,
    /harness\.yaml:5:13: lab\.hosts\.0\.port: must be a number, but is the text "twenty" \(write it as digits, unquoted\)/,
  );
  t.notRegex(result.stderr, /missing required key/);
});

test('#18 under --json a failure is one JSON document on stdout too, and render --json is JSON', async (t) => {
  const cwd = tempDir(t);

  const refused = await runCli(['validate', '--cron', 'x', '--json'], { cwd });
  const invalid = await runCli(['render', 'missing.yaml', '--json'], { cwd });
  const rendered = await runCli(
    ['render', join(repoRoot, 'builtin-scenarios', 'cmstp-scriptlet-on-share.yaml'), '--json'],
    { cwd },
  );

  t.is(refused.exitCode, 2);
  t.like(JSON.parse(refused.stdout), {
    command: null,
    exitCode: 2,
    error: { code: 'E_USAGE', message: 'validate does not take --cron (schedule takes it)' },
  });
  t.is(invalid.exitCode, 2);
  t.like(JSON.parse(invalid.stdout), {
    command: 'render',
    exitCode: 2,
    error: { code: 'E_SCENARIO_INVALID', issues: [{ file: 'missing.yaml', line: 1, col: 1 }] },
  });
  t.is(rendered.exitCode, 0, rendered.stderr);
  const json = JSON.parse(rendered.stdout) as {
    scenario: string;
    command: string;
    payload: { path: string; sha256: string; content: string };
    scriptlet: { path: string; content: string };
  };
  t.is(json.scenario, 'cmstp-scriptlet-on-share');
  t.regex(json.command, /^C:\\Windows\\System32\\cmstp\.exe \/s \/ns /);
  t.regex(json.payload.content, /scrobj\.dll,NI,\\\\localhost\\C\$\\/);
  t.regex(json.scriptlet.path, /-scriptlet\.sct$/);
});
