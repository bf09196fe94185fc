import { execa } from 'execa';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

/** The repository root, from dist/test/helpers/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns the built CLI as a user would, with a clean environment apart from what the test passes. */
export async function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CliResult> {
  const result = await execa('node', [cliPath, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    extendEnv: false,
    reject: false,
    timeout: 90_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Copies built-in scenarios into `dir` with short capture and detect deadlines (3 s), so a test that expects
 * a signal to be missing does not wait out the connector's default. Returns the copies' paths.
 */
export function quickScenarios(dir: string, names?: readonly string[]): string[] {
  const source = join(repoRoot, 'builtin-scenarios');
  return (names ?? readdirSync(source).filter((n) => n.endsWith('.yaml'))).map((name) => {
    const text = readFileSync(join(source, name), 'utf8');
    const quick = text.replace(/^timeouts:\n/m, 'timeouts:\n  capture: 3s\n  detect: 3s\n');
    if (quick === text) throw new Error(`${name}: no timeouts block to shorten`);
    writeFileSync(join(dir, name), quick);
    return join(dir, name);
  });
}

/**
 * Starts `purple-harness lab up` in `cwd` (killed when the test ends): the process, and the config it wrote,
 * once it prints where that is.
 */
export function startLabUp(t: ExecutionContext, cwd: string, args: readonly string[] = []) {
  const lab = execa('node', [cliPath, 'lab', 'up', ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    extendEnv: false,
    reject: false,
  });
  t.teardown(() => {
    lab.kill('SIGKILL');
  });
  const config = new Promise<string>((resolve, reject) => {
    let seen = '';
    lab.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /^config: (.+)$/m.exec(seen);
      if (match?.[1]) resolve(match[1].trim());
    });
    void lab.then(() => {
      reject(new Error(`lab up ended early:\n${seen}`));
    });
  });
  return { lab, config };
}
