import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTarget } from '../core/index.js';
import { HarnessError } from '../core/index.js';
import { realSleep } from '../core/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A lock file per host under `dir`, created exclusively, so two harness processes never run on one host at
 * once. A lock left by a process that no longer exists is taken over; a live one is waited for.
 */
export function localHostLock(
  dir: string,
  options: { waitMs?: number; pollMs?: number } = {},
): (host: HostTarget) => Promise<() => Promise<void>> {
  const waitMs = options.waitMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 500;
  return async (host) => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${host.name.replace(/[^A-Za-z0-9.-]/g, '_')}.lock`);
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return () => {
          rmSync(file, { force: true });
          return Promise.resolve();
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (!Number.isInteger(holder) || !alive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new HarnessError(
          'E_LAB',
          `host ${host.name} is locked by another purple-harness run (pid ${holder})`,
          {
            hint: `Wait for it to finish; if no run is active, remove ${file}.`,
          },
        );
      }
      await realSleep(pollMs);
    }
  };
}
