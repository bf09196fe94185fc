import { readFileSync } from 'node:fs';
import type { HostTarget } from '../core/index.js';
import { HarnessError } from '../core/index.js';
import type { Env } from './load.js';
import type { InventoryHost } from './schema.js';

/** Host keys learned with --trust-new-host-keys, by host name: used when the config pins none. */
export type KnownHosts = Readonly<Record<string, string>>;

/** Reads each host's credentials from the environment; records every secret so it can be redacted. */
export function resolveHosts(
  hosts: readonly InventoryHost[],
  env: Env,
  secrets: Set<string>,
  simulated: boolean,
  knownHosts: KnownHosts = {},
): HostTarget[] {
  return hosts.map((host): HostTarget => {
    const base = {
      name: host.name,
      address: host.address,
      port: host.port,
      username: host.username,
      hostKeySha256: host.hostKeySha256 ?? knownHosts[host.name] ?? null,
      simulated: simulated || host.simulated === true,
    };
    const secret = (name: string, what: string): string => {
      const value = env[name];
      if (value === undefined || value === '') {
        throw new HarnessError(
          'E_SECRET_MISSING',
          `host ${host.name}: the variable ${name} (${what}) is not set`,
          {
            hint: `Set ${name} in the environment or in .env (never in the config file).`,
          },
        );
      }
      secrets.add(value);
      return value;
    };
    const passphrase =
      host.passphraseEnv === undefined ? undefined : secret(host.passphraseEnv, 'key passphrase');
    if (host.passwordEnv !== undefined)
      return { ...base, auth: { password: secret(host.passwordEnv, 'password') } };
    if (host.agent === true)
      return { ...base, auth: { agent: secret('SSH_AUTH_SOCK', 'the SSH agent socket') } };
    let privateKey: string;
    if (host.privateKeyEnv !== undefined) privateKey = secret(host.privateKeyEnv, 'private key');
    else {
      const keyFile = host.privateKeyFile ?? '';
      try {
        privateKey = readFileSync(keyFile, 'utf8');
      } catch (error) {
        throw new HarnessError(
          'E_SECRET_MISSING',
          `host ${host.name}: cannot read private key file ${keyFile}`,
          { cause: error },
        );
      }
      secrets.add(privateKey);
    }
    return { ...base, auth: passphrase === undefined ? { privateKey } : { privateKey, passphrase } };
  });
}

/** Targets must be in the inventory: a name that is not there is refused, never guessed. */
export function selectHosts(hosts: readonly HostTarget[], names: readonly string[]): HostTarget[] {
  if (names.length === 0) return [...hosts];
  return names.map((name) => {
    const found = hosts.find((h) => h.name.toLowerCase() === name.toLowerCase());
    if (!found) {
      throw new HarnessError('E_TARGET_NOT_IN_INVENTORY', `host "${name}" is not in the lab inventory`, {
        hint: `Known hosts: ${hosts.map((h) => h.name).join(', ') || '(none)'}. Add it under lab.hosts in the config first.`,
      });
    }
    return found;
  });
}

/** Inventory hosts chosen by name or by `tag:NAME`; anything not in the inventory is refused, never guessed. */
export function selectInventory(
  hosts: readonly InventoryHost[],
  selectors: readonly string[],
): InventoryHost[] {
  if (selectors.length === 0) return [...hosts];
  const chosen = new Map<string, InventoryHost>();
  for (const selector of selectors) {
    const tag = /^tag:(.+)$/.exec(selector)?.[1];
    const matches =
      tag === undefined
        ? hosts.filter((h) => h.name.toLowerCase() === selector.toLowerCase())
        : hosts.filter((h) => h.tags.includes(tag));
    if (matches.length === 0) {
      throw new HarnessError(
        'E_TARGET_NOT_IN_INVENTORY',
        tag === undefined
          ? `host "${selector}" is not in the lab inventory`
          : `no inventory host has the tag "${tag}"`,
        {
          hint: `Known hosts: ${hosts.map((h) => h.name).join(', ') || '(none)'}. Add it under lab.hosts in the config first.`,
        },
      );
    }
    for (const host of matches) chosen.set(host.name, host);
  }
  return [...chosen.values()];
}
