import test from 'ava';
import { createOutput } from './output.js';

/** A stream that keeps what was written to it. */
function stream(columns = 80) {
  const written: string[] = [];
  return { written, columns, write: (text: string) => written.push(text), text: () => written.join('') };
}

const esc = String.fromCharCode(27);
const clearLine = `\r${esc}[2K`;
const up = `${esc}[1A`;

// #18 build point 4: on a terminal, each wait counts down in place under the latest step.
test('#18 on a terminal: each wait is a line counting down, redrawn in place; a printed line goes above the block', (t) => {
  const stderr = stream();
  const stdout = stream();
  const output = createOutput(new Set(['s3cret-token']), {
    debug: false,
    quiet: false,
    stderrIsTTY: true,
    stdoutIsTTY: false,
    stderr,
    stdout,
    env: {},
  });
  const status = output.logger.status;
  if (status === undefined) return t.fail('a terminal takes a live status');

  output.logger.info('a on h: running');
  status('a on h', { pending: 'child-process (its telemetry)', leftMs: 30_000 });
  status('b on g', { pending: 'com-elevation (an alert) s3cret-token', leftMs: 12_400 });
  const [first, second, third, ...rest] = (stderr.written.at(-1) ?? '').split('\n');
  t.is(first, `${clearLine}[purple-harness] a on h: running`);
  t.is(second, '   30 s left at most · a on h: waiting for child-process (its telemetry)');
  t.regex(third ?? '', /^ {3}13 s left at most · b on g: waiting for com-elevation \(an alert\) \S+$/);
  t.deepEqual(rest, []);
  t.false(stderr.text().includes('s3cret-token'));

  // A result line: the three lines are cleared, the line printed, the waits drawn again (the step is gone).
  stderr.written.length = 0;
  output.out('PASSED a on h');
  t.is(stdout.text(), 'PASSED a on h\n');
  t.is(stderr.written[0], `${clearLine}${up}${clearLine}${up}${clearLine}`);
  t.regex(
    stderr.written[1] ?? '',
    new RegExp(`^\\r${esc}\\[2K {3}30 s left at most · a on h: .*\\n {3}13 s left at most · b on g: `),
  );

  // Ended waits leave nothing behind.
  status('a on h', null);
  status('b on g', null);
  t.is(stderr.written.at(-1), clearLine);
  output.finish();
});

test('#18 a line longer than the terminal is cut, so it never wraps and breaks the redraw', (t) => {
  const stderr = stream(40);
  const output = createOutput(new Set(), { debug: false, quiet: false, stderrIsTTY: true, stderr, env: {} });
  output.logger.status?.('a-very-long-scenario-name on a-long-host', { pending: 'x', leftMs: 1000 });
  const lines = (stderr.written.at(-1) ?? '').replace(clearLine, '').split('\n');
  t.true(
    lines.every((line) => line.length <= 39),
    JSON.stringify(lines),
  );
  t.true(lines[0]?.endsWith('…'));
  output.finish();
});

test('#18 off a terminal, with --quiet or --debug: no live status, so waits speak in heartbeat lines', (t) => {
  for (const options of [
    { debug: false, quiet: false, stderrIsTTY: false },
    { debug: false, quiet: true, stderrIsTTY: true },
    { debug: true, quiet: false, stderrIsTTY: true },
  ]) {
    const output = createOutput(new Set(), { ...options, stderr: stream(), stdout: stream(), env: {} });
    t.is(output.logger.status, undefined, JSON.stringify(options));
  }
});
