import type { HarnessConfig } from '../config/schema.js';
import {
  HarnessError,
  isHarnessError,
  needsPayloadServer,
  type LoadedScenario,
  type Logger,
} from '../core/index.js';
import {
  payloadAddresses,
  startPayloadServer,
  type PayloadServer,
  type PayloadServerOptions,
} from '../payload-server/server.js';

/** The embedded lab's payload server name: its simulated host resolves it; no real VM does. */
export const embeddedPayloadHost = 'payload.lab.test';

/** The lab has a host that is no simulator (`lab up`), which resolves the embedded lab's names itself. */
function hasRealHosts(config: HarnessConfig): boolean {
  return (config.lab?.hosts ?? []).some((h) => h.simulated !== true);
}

/** The scenarios that serve a file from the payload server. */
function serving(scenarios: readonly LoadedScenario[]): string[] {
  return scenarios.filter((s) => needsPayloadServer(s.spec)).map((s) => s.spec.id);
}

/**
 * A real lab's scenarios that serve files need a payload server the hosts can reach: a config without one
 * is refused before any host is touched (exit 2), naming the scenarios and the fix.
 */
export function requirePayloadServer(config: HarnessConfig, scenarios: readonly LoadedScenario[]): void {
  requireSecondAddress(config, scenarios);
  const needing = serving(scenarios);
  if (!hasRealHosts(config) || needing.length === 0 || config.payloadServer !== undefined) return;
  throw new HarnessError(
    'E_CONFIG_INVALID',
    `${needing.join(', ')} serve${needing.length === 1 ? 's' : ''} a file to the lab hosts from the payload server, but the config has no payloadServer`,
    {
      hint: 'Add payloadServer to the config: bind (an address of this machine the lab hosts can reach) and advertisedHost (a name or address the hosts resolve to it); see docs/config.md. Or leave those scenarios out.',
    },
  );
}

/** Scenarios that fetch from the payload server's second address need one: refused before any host (exit 2). */
function requireSecondAddress(config: HarnessConfig, scenarios: readonly LoadedScenario[]): void {
  if (payloadServerSettings(config).secondBind !== undefined) return;
  const needing = scenarios
    .filter((s) => s.spec.emulation.scriptlet?.from === 'second-address')
    .map((s) => s.spec.id);
  if (needing.length === 0) return;
  throw new HarnessError(
    'E_CONFIG_INVALID',
    `${needing.join(', ')} fetch${needing.length === 1 ? 'es' : ''} a scriptlet from the payload server's second address, but the config's payloadServer has no secondBind`,
    {
      hint: 'Add payloadServer.secondBind: a second IPv4 address of this machine the lab hosts can reach (docs/config.md). Or leave those scenarios out.',
    },
  );
}

/** A warning for a real lab whose scenarios will be told the embedded lab's name, which no real VM resolves. */
export function advertisedHostWarning(
  config: HarnessConfig,
  scenarios: readonly LoadedScenario[],
): string | null {
  if (!hasRealHosts(config) || serving(scenarios).length === 0) return null;
  if (config.payloadServer?.advertisedHost !== embeddedPayloadHost) return null;
  return `payloadServer.advertisedHost is ${embeddedPayloadHost}, the embedded lab's name: the lab hosts must resolve it to this machine (add it to their DNS or hosts file), or set advertisedHost to a name or address they already resolve`;
}

/** Starts the payload server where the config says, as `run` will, and stops it: null when it can, else why not. */
export async function probeListen(bind: string, port: number): Promise<HarnessError | null> {
  try {
    const server = await startPayloadServer({ bind, port, advertisedHost: bind });
    await server.close();
    return null;
  } catch (error) {
    if (isHarnessError(error)) return error;
    throw error;
  }
}

/** The embedded lab's payload server answers on a second loopback address too (tuning plan's IP pair). */
export const embeddedSecondAddress = '127.0.0.2';

/**
 * Where the payload server listens and the name hosts use for it: by default loopback (and a second loopback
 * address) and payload.lab.test.
 */
export function payloadServerSettings(config: HarnessConfig): PayloadServerOptions {
  return (
    config.payloadServer ?? {
      bind: '127.0.0.1',
      port: 0,
      advertisedHost: embeddedPayloadHost,
      secondBind: embeddedSecondAddress,
    }
  );
}

/** The payload server's IPv4 addresses as the config sets them, before it starts (`tuning plan`). */
export function payloadAddressesOf(config: HarnessConfig): {
  address: string | null;
  secondAddress: string | null;
} {
  return payloadAddresses(payloadServerSettings(config));
}

/** The payload server, started when the embedded lab runs or a scenario serves a file; null otherwise. */
export async function startPayloadServerFor(
  config: HarnessConfig,
  scenarios: readonly LoadedScenario[],
  logger: Logger,
): Promise<PayloadServer | null> {
  if (config.lab !== undefined && !scenarios.some((s) => needsPayloadServer(s.spec))) return null;
  const configured = payloadServerSettings(config);
  // The embedded lab's second loopback address is bound only when a scenario fetches from it: not every
  // system has it (macOS needs an lo0 alias), and no other run should depend on it.
  const needsSecond = scenarios.some((s) => s.spec.emulation.scriptlet?.from === 'second-address');
  const settings =
    config.payloadServer === undefined && !needsSecond
      ? { ...configured, secondBind: undefined }
      : configured;
  const server = await startPayloadServer(settings);
  logger.info(
    `payload server: ${server.baseUrl} (listening on ${settings.bind}${settings.secondBind === undefined ? '' : ` and ${settings.secondBind}`})`,
  );
  return server;
}
