/**
 * CLI start-up: wall time of `node dist/src/cli/main.js <args>` from spawn to exit, 10 runs each, median and
 * all runs. --version is the floor every command pays; validate and plan are the everyday offline commands.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'src', 'cli', 'main.js');
const runs = 10;

async function timed(args: readonly string[]): Promise<{ medianMs: number; runsMs: number[] }> {
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    const result = await execa('node', [cli, ...args], { cwd: repo, reject: false });
    runsMs.push(Math.round(performance.now() - start));
    if (result.exitCode !== 0)
      throw new Error(`${args.join(' ')} exited ${String(result.exitCode)}: ${result.stderr}`);
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { medianMs: ((sorted[4] ?? 0) + (sorted[5] ?? 0)) / 2, runsMs };
}

const version = await timed(['--version']);
const validate = await timed(['validate', join('builtin-scenarios', 'cmstp-local-inf-presetup.yaml')]);
const plan = await timed(['plan']);
console.log(`BENCH_RESULT ${JSON.stringify({ runs, version, validate, plan })}`);
