import test from 'ava';
import { execa } from 'execa';
import { cliPath, quickScenarios, runCli } from '../helpers/cli.js';
import { commandHelp } from '../../src/cli/help.js';
import { tempDir } from '../helpers/tmp.js';

/** Runs the CLI on a real pseudo-terminal (util-linux `script`), as a person at a terminal would. */
async function onTerminal(args: readonly string[], cwd: string, env: Record<string, string>) {
  const command = ['node', cliPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const result = await execa('script', ['-qec', command, '/dev/null'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...env },
    extendEnv: false,
    reject: false,
    timeout: 90_000,
  });
  return { exitCode: result.exitCode ?? -1, text: result.stdout };
}

// Built from the ESC character: terminal control sequences are what these tests look for.
const esc = String.fromCharCode(27);
const colourCode = new RegExp(`${esc}\\[3\\dm`);
const progress = new RegExp(
  `\\r${esc}\\[2K\\[purple-harness\\] cmstp-local-inf-presetup on WIN10-LAB-01: running`,
);

test('on a terminal: verdicts in colour and a progress line rewritten in place; NO_COLOR turns colour off', async (t) => {
  const cwd = tempDir(t);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const coloured = await onTerminal(['run', scenario ?? '', '--reports-dir', 'reports'], cwd, {});
  const plain = await onTerminal(['run', scenario ?? '', '--reports-dir', 'reports'], cwd, { NO_COLOR: '1' });

  t.is(coloured.exitCode, 0, coloured.text);
  t.regex(coloured.text, colourCode);
  t.regex(coloured.text, progress);
  t.is(plain.exitCode, 0, plain.text);
  t.notRegex(plain.text, colourCode);
  t.regex(plain.text, /PASSED {6} cmstp-local-inf-presetup on WIN10-LAB-01/);
});

// #18 build point 4: on a terminal, a wait is a countdown redrawn in place, gone when the wait ends.
test('on a terminal: a missing signal is a countdown redrawn in place, and the block is cleared at the end', async (t) => {
  const cwd = tempDir(t);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const result = await onTerminal(
    ['run', scenario ?? '', '--reports-dir', 'reports', '--lab-drop', 'child-process'],
    cwd,
    {},
  );

  t.is(result.exitCode, 1, result.text);
  const countdown = [
    ...result.text.matchAll(
      /(\d+) s left at most · cmstp-local-inf-presetup on WIN10-LAB-01: waiting for child-process/g,
    ),
  ].map((m) => Number(m[1]));
  t.true(countdown.length >= 2, result.text);
  t.true(
    countdown.every((left, i) => i === 0 || left <= (countdown[i - 1] ?? 0)),
    countdown.join(' '),
  );
  // The block is cleared before the verdicts are printed: no countdown after the first verdict line.
  const verdicts = result.text.indexOf('FAILED');
  t.true(verdicts > 0);
  t.false(result.text.slice(verdicts).includes('waiting for'));
});

test('off a terminal: plain lines, no colour and no control sequences', async (t) => {
  const cwd = tempDir(t);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const result = await runCli(['run', scenario ?? '', '--reports-dir', 'reports'], { cwd });

  t.is(result.exitCode, 0, result.stderr);
  t.false((result.stdout + result.stderr).includes(esc));
  t.regex(result.stderr, /^\[purple-harness\] cmstp-local-inf-presetup on WIN10-LAB-01: running/m);
  t.false(result.stderr.includes('s left'), 'a quick pass has no heartbeat');
});

test('every command has its own --help with examples', async (t) => {
  const cwd = tempDir(t);
  for (const command of Object.keys(commandHelp)) {
    const result = await runCli([command, '--help'], { cwd });
    t.is(result.exitCode, 0, command);
    t.true(result.stdout.startsWith(`purple-harness ${command}`), command);
    if (command !== 'schema') t.regex(result.stdout, /Examples?:/, command);
  }
});

test('--json: run prints one JSON document; a command with no JSON of its own has its lines wrapped', async (t) => {
  const cwd = tempDir(t);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const run = await runCli(['run', scenario ?? '', '--reports-dir', 'reports', '--json'], { cwd });
  const created = await runCli(['new', 'json-made', '--json'], { cwd });

  t.is(run.exitCode, 0, run.stderr);
  const parsed = JSON.parse(run.stdout) as {
    status: string;
    exitCode: number;
    lab: string;
    summary: { pass: number };
  };
  t.like(parsed, { status: 'passed', exitCode: 0, lab: 'simulated', summary: { pass: 3 } });
  t.is(created.exitCode, 0, created.stderr);
  const wrapped = JSON.parse(created.stdout) as { command: string; exitCode: number; output: string[] };
  t.is(wrapped.command, 'new');
  t.regex(wrapped.output[0] ?? '', /^wrote .*json-made\.yaml$/);
});
