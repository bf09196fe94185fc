import { z } from 'zod';
import {
  HarnessError,
  errorMessage,
  type PluginContext,
  type SiemConnector,
  type SiemConnectorDefinition,
} from '../core/index.js';
import { commandSiem } from './command/index.js';
import { elasticSiem } from './elastic/index.js';
import { httpBridgeSiem } from './http-bridge/index.js';
import { localSiem } from './local/index.js';
import { sentinelSiem } from './sentinel/index.js';
import { splunkSiem } from './splunk/index.js';

/**
 * Every SIEM connector, and the only list of them: the config's `siem` union, `plan`, `doctor`, `--help`
 * and the connector table in docs/connectors/README.md are all derived from it. The first is the default.
 */
export const siemConnectors = {
  local: localSiem,
  elastic: elasticSiem,
  splunk: splunkSiem,
  sentinel: sentinelSiem,
  command: commandSiem,
  'http-bridge': httpBridgeSiem,
} satisfies Record<string, SiemConnectorDefinition>;
export type SiemConnectorId = keyof typeof siemConnectors;

/** `siem` in the config: a connector's own options plus `type`, naming it. */
export type SiemConfig = {
  [K in SiemConnectorId]: z.output<(typeof siemConnectors)[K]['optionsSchema']> & { readonly type: K };
}[SiemConnectorId];

/** The config schema of `siem`, one member per registered connector. */
export function siemConfigSchema(): z.ZodType<SiemConfig> {
  const [first, ...rest] = Object.entries(siemConnectors).map(([id, definition]) =>
    // safeExtend: some options schemas carry refinements, which plain extend refuses to copy.
    definition.optionsSchema.safeExtend({ type: z.literal(id) }),
  );
  if (first === undefined) throw new Error('no SIEM connector is registered');
  // The members are built from the very definitions SiemConfig is derived from; TypeScript cannot follow
  // Object.entries, so the union's type is stated once here.
  return z.discriminatedUnion('type', [first, ...rest]) as unknown as z.ZodType<SiemConfig>;
}

/** The connector's definition, with its options type erased: what the composition root needs. */
export function siemDefinition(type: SiemConnectorId): SiemConnectorDefinition {
  return siemConnectors[type];
}

/** The options a config entry hands its connector: everything but `type`, which names the connector. */
export function siemOptions(config: SiemConfig): Record<string, unknown> {
  const { type: _type, ...options } = config;
  return options;
}

/** Loads the configured connector's implementation and opens it; a module that cannot load names the plug-in. */
export async function openSiem(config: SiemConfig, ctx: PluginContext): Promise<SiemConnector> {
  const definition = siemDefinition(config.type);
  const implementation = await definition.load().catch((error: unknown) => {
    throw new HarnessError(
      'E_SIEM_UNAVAILABLE',
      `[siem:${config.type}] the connector could not be loaded: ${errorMessage(error)}`,
      { cause: error },
    );
  });
  return implementation.create(siemOptions(config), ctx);
}
