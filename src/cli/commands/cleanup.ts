import {
  HarnessError,
  errorMessage,
  isMarker,
  type HostTarget,
  type PluginContext,
} from '../../core/index.js';
import { resolveHosts, selectInventory } from '../../config/inventory.js';
import type { Env } from '../../config/load.js';
import type { HarnessConfig } from '../../config/schema.js';
import { CleanupFrame, SnapshotFrame, UninstallFrame, UnlockFrame } from '../../execute/frames.js';
import { openExecutor } from '../../executors/registry.js';
import { renderHousekeeping } from '../../render/render.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

export interface CleanupOptions {
  readonly marker: string | undefined;
  readonly config: HarnessConfig;
  readonly env: Env;
  readonly hosts: readonly string[];
  readonly secrets: Set<string>;
}

/**
 * Cleans up after an interrupted run: on each inventory host, removes what carries the run marker (run
 * folders, profile folders, Connection Manager mappings, marker processes) and verifies with a snapshot.
 * Keys a run may have created are listed for review, not removed: without the run's own before-snapshot
 * nobody can tell whether they were there before.
 */
export async function cleanupCommand(
  options: CleanupOptions,
  output: Output,
  ctx: PluginContext,
): Promise<ExitCode> {
  const marker = options.marker;
  if (marker === undefined)
    throw new HarnessError('E_USAGE', 'cleanup needs --marker', {
      hint: 'The marker is in run.json (results[].marker) and in the run folder name.',
    });
  if (!isMarker(marker))
    throw new HarnessError(
      'E_USAGE',
      `--marker "${marker}" is not a purple-harness run marker ("ph" and 12 lower-case letters or digits); nothing was touched`,
      {
        hint: 'Copy the marker from run.json (results[].marker) or the run folder name, e.g. ph0123456789ab.',
      },
    );
  if (!options.config.lab) {
    throw new HarnessError(
      'E_USAGE',
      'cleanup works on a configured lab (--config); the embedded lab leaves nothing behind',
    );
  }
  const operations = renderHousekeeping(marker);
  const hosts: HostTarget[] = resolveHosts(
    selectInventory(options.config.lab.hosts, options.hosts),
    options.env,
    options.secrets,
    false,
  );
  const unpinned = hosts.filter((h) => h.hostKeySha256 === null).map((h) => h.name);
  if (unpinned.length > 0) {
    throw new HarnessError('E_CONFIG_INVALID', `no pinned host key for ${unpinned.join(', ')}`, {
      hint: 'Pin hostKeySha256 first (docs/lab-setup.md).',
    });
  }
  const executor = await openExecutor(options.config.executor, ctx);
  let dirty = false;
  for (const host of hosts) {
    try {
      const session = await executor.open(host);
      try {
        for (const op of operations.places) {
          const uninstalled = UninstallFrame.safeParse((await session.run(op.uninstall)).frame);
          const profile = uninstalled.success ? uninstalled.data.uninstall : null;
          if (profile)
            output.out(
              `${host.name}: cmstp /s /u ${profile.inf}: ${profile.timedOut ? 'timed out' : `exit ${String(profile.exitCode)}`}`,
            );
          const cleaned = CleanupFrame.safeParse((await session.run(op.cleanup)).frame);
          const after = SnapshotFrame.safeParse((await session.run(op.snapshot)).frame);
          if (!cleaned.success || !after.success) {
            dirty = true;
            output.out(`${host.name}: clean-up of ${op.runDir} did not answer properly`);
            continue;
          }
          for (const item of cleaned.data.removed) output.out(`${host.name}: removed ${item}`);
          for (const error of cleaned.data.errors) output.out(`${host.name}: error ${error}`);
          const residue = after.data.items.filter((item) => item.includes(marker));
          const review = after.data.items.filter((item) => item.startsWith('key:') && !item.includes(marker));
          for (const item of residue) output.out(`${host.name}: LEFT OVER ${item}`);
          for (const item of review)
            output.out(
              `${host.name}: present, not removed (review whether run ${marker} created it): ${item}`,
            );
          if (residue.length > 0 || !cleaned.data.ok) dirty = true;
        }
        const unlocked = UnlockFrame.safeParse((await session.run(operations.unlock)).frame);
        if (!unlocked.success) {
          dirty = true;
          output.out(`${host.name}: the host lock could not be checked`);
        } else if (unlocked.data.released) {
          output.out(`${host.name}: released the host lock ${marker} held`);
        }
      } finally {
        await session.close();
      }
    } catch (error) {
      dirty = true;
      output.out(`${host.name}: ${errorMessage(error)}`);
    }
  }
  output.out(
    dirty
      ? `clean-up of ${marker} is NOT complete`
      : `clean-up of ${marker}: nothing left on ${hosts.length} host(s)`,
  );
  return dirty ? exitCodes.infrastructure : exitCodes.passed;
}
