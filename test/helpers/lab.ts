import { randomBytes } from 'node:crypto';
import type { HostTarget, PluginContext } from '../../src/core/index.js';
import { silentLogger, systemClock, realSleep } from '../../src/core/index.js';
import { startLabSimulator, type LabSimulator, type LabSimulatorOptions } from '../../src/lab/simulator.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import { siemConnectors } from '../../src/siem/registry.js';
import type { SiemConnector } from '../../src/core/index.js';

export function pluginContext(env: Record<string, string> = {}, secrets = new Set<string>()): PluginContext {
  return { logger: silentLogger, clock: systemClock, sleep: realSleep, secrets, env };
}

export interface TestLab {
  readonly lab: LabSimulator;
  readonly siem: SiemConnector;
  readonly host: HostTarget;
  readonly password: string;
  close(): Promise<void>;
}

/** An in-memory local SIEM plus a lab simulator shipping to it, both on loopback. */
export async function startTestLab(
  options: Partial<Omit<LabSimulatorOptions, 'hec' | 'password'>> = {},
): Promise<TestLab> {
  const token = randomBytes(16).toString('hex');
  const password = randomBytes(12).toString('hex');
  const siem = await siemConnectors.local.create(
    LocalSiemOptions.parse({ database: ':memory:' }),
    pluginContext({ PURPLE_HARNESS_HEC_TOKEN: token }),
  );
  const endpoint = siem.ingestEndpoint();
  if (!endpoint) throw new Error('local SIEM has no ingest endpoint');
  const lab = await startLabSimulator({ ...options, password, hec: endpoint });
  return {
    lab,
    siem,
    password,
    host: {
      name: 'WIN10-LAB-01',
      address: lab.address,
      port: lab.port,
      username: lab.username,
      hostKeySha256: lab.hostKeySha256,
      auth: { password },
      simulated: true,
    },
    close: async () => {
      await lab.close();
      await siem.dispose();
    },
  };
}
