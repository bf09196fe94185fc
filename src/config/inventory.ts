import { readFileSync } from 'node:fs';
import type { HostTarget } from '../core/index.js';
import { HarnessError } from '../core/index.js';
import type { Env } from './load.js';
import type { InventoryHost } from './schema.js';

/** Reads each host's credentials from the environment; records every secret so it can be redacted. */
export function resolveHosts(
  hosts: readonly InventoryHost[],
  env: Env,
  secrets: Set<string>,
  simulated: boolean,
): HostTarget[] {
  return hosts.map((host) => {
    const base = {
      name: host.name,
      address: host.address,
      port: host.port,
      username: host.username,
      hostKeySha256: host.hostKeySha256,
      simulated,
    };
    if (host.passwordEnv !== undefined) {
      const password = env[host.passwordEnv];
      if (password === undefined || password === '') {
        throw new HarnessError(
          'E_SECRET_MISSING',
          `host ${host.name}: the variable ${host.passwordEnv} is not set`,
          {
            hint: `Set ${host.passwordEnv} in the environment or in .env (never in the config file).`,
          },
        );
      }
      secrets.add(password);
      return { ...base, auth: { password } };
    }
    const keyFile = host.privateKeyFile ?? '';
    let privateKey: string;
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
    const passphrase = host.passphraseEnv === undefined ? undefined : env[host.passphraseEnv];
    if (passphrase !== undefined) secrets.add(passphrase);
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
