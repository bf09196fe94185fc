import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HarnessError, type HostTarget, type Logger } from '../core/index.js';
import { resolveHosts, selectInventory, type KnownHosts } from '../config/inventory.js';
import type { Env } from '../config/load.js';
import type { HarnessConfig } from '../config/schema.js';
import { probeHostKey } from '../executors/ssh/executor.js';

/** Keys recorded by --trust-new-host-keys, kept beside the locks. */
export const knownHostsFile = (): string => resolve('.purple-harness', 'known-hosts.json');

export function readKnownHosts(file: string): KnownHosts {
  if (!existsSync(file)) return {};
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return typeof parsed === 'object' && parsed !== null ? (parsed as KnownHosts) : {};
}

/**
 * The real hosts a run targets: from the inventory only, with their credentials, chosen and checked before
 * anything starts. No pinned key without --trust-new-host-keys is exit 2 before any connection.
 */
export function realTargets(
  config: HarnessConfig,
  names: readonly string[],
  env: Env,
  secrets: Set<string>,
  trustNewHostKeys: boolean,
): HostTarget[] {
  const hosts = resolveHosts(
    selectInventory(config.lab?.hosts ?? [], names),
    env,
    secrets,
    false,
    readKnownHosts(knownHostsFile()),
  );
  const unpinned = hosts.filter((h) => h.hostKeySha256 === null);
  if (unpinned.length > 0 && !trustNewHostKeys)
    throw new HarnessError(
      'E_CONFIG_INVALID',
      `no pinned host key for ${unpinned.map((h) => h.name).join(', ')}`,
      {
        hint: 'Pin hostKeySha256 in the inventory (docs/lab-setup.md shows how), or pass --trust-new-host-keys to record the key each host presents now.',
      },
    );
  return hosts;
}

/**
 * --trust-new-host-keys: reads each unpinned host's key without authenticating (probeHostKey) and records it.
 * A host that authenticates by key or agent then runs, pinned to that key. A password is sent only to a host
 * pinned before this run started: a password host is recorded here and refused until the next run, so an
 * impostor answering now can learn its key is recorded, never the password.
 */
export async function pinHostKeys(
  hosts: HostTarget[],
  trust: boolean,
  logger: Logger,
): Promise<HostTarget[]> {
  if (!trust || hosts.every((h) => h.hostKeySha256 !== null)) return hosts;
  const file = knownHostsFile();
  const known: Record<string, string> = { ...readKnownHosts(file) };
  const pinned: HostTarget[] = [];
  const waiting: string[] = [];
  for (const host of hosts) {
    if (host.hostKeySha256 !== null) {
      pinned.push(host);
      continue;
    }
    const key = await probeHostKey(host.address, host.port, 15_000);
    known[host.name] = key;
    logger.warn(
      `recorded host key ${key} for ${host.name} in ${file}, without authenticating: verify it on the host (docs/lab-setup.md)`,
    );
    if ('password' in host.auth) waiting.push(host.name);
    else pinned.push({ ...host, hostKeySha256: key });
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(known, null, 2)}\n`);
  if (waiting.length > 0)
    throw new HarnessError(
      'E_CONFIG_INVALID',
      `recorded the host keys of ${waiting.join(', ')}, which authenticate with a password: a password is only ever sent to a host pinned before the run, so nothing ran on them`,
      {
        hint: `Check each recorded key on the host (docs/lab-setup.md), then run again: the keys in ${file} are used from now on. Hosts with key or agent authentication run in the same run.`,
      },
    );
  return pinned;
}
