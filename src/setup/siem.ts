import { isDeepStrictEqual } from 'node:util';
import {
  defaultTuning,
  HarnessError,
  timeWindowMs,
  type Tuning,
  type Logger,
  type PluginContext,
  type SiemConnector,
  type SiemPolling,
} from '../core/index.js';
import type { Env } from '../config/load.js';
import type { HarnessConfig } from '../config/schema.js';
import { loadTuningFile } from '../config/tuning.js';
import { rateLimited } from '../siem/rate-limit.js';
import {
  openSiem,
  siemConfigSchema,
  siemDefinition,
  siemOptions,
  type SiemConfig,
} from '../siem/registry.js';

/**
 * The SIEM the config names (the local one when it names none), with its defaults applied and `--rules`
 * added to the local SIEM's folders. `--rules` with another SIEM is a usage error: rules the user asked
 * for must never be silently absent.
 */
export function siemFromConfig(
  config: HarnessConfig,
  extraRules: readonly string[] = [],
  tuning: Tuning | null = tuningFrom(config),
): SiemConfig {
  const siem = withTuning(config, config.siem ?? siemConfigSchema().parse({ type: 'local' }), tuning);
  if (extraRules.length === 0) return siem;
  if (siem.type !== 'local')
    throw new HarnessError(
      'E_USAGE',
      `--rules loads Sigma rules into the local SIEM; the configured SIEM is ${siem.type}`,
      { hint: 'Deploy your rules in that SIEM, or drop --rules.' },
    );
  return { ...siem, rules: [...siem.rules, ...extraRules] };
}

/** The tuning elements only our rules read (the local SIEM's); TimeWindow is the harness's own. */
const ruleElements = [
  'infPathRegex',
  'externalIpAllowlist',
  'comInterfaceGuids',
  'registryKeyAllowlist',
] as const satisfies readonly (keyof Tuning)[];

/**
 * The config's tuning (its file read and checked once, by tuningFrom), given to the local SIEM's rules. With
 * another SIEM the rules are the team's own, so a tuning that changes what only our rules read is refused
 * rather than silently ignored; its TimeWindow, which every SIEM's queries read, is taken (timeWindowOf).
 */
function withTuning(config: HarnessConfig, siem: SiemConfig, tuning: Tuning | null): SiemConfig {
  if (tuning === null) return siem;
  if (siem.type === 'local') return { ...siem, tuning };
  const ours = ruleElements.filter((key) => !isDeepStrictEqual(tuning[key], defaultTuning[key]));
  if (ours.length > 0)
    throw new HarnessError(
      'E_USAGE',
      `tuning: ${config.tuning ?? ''} sets ${ours.join(', ')}, which only the local SIEM's rules read; the configured SIEM is ${siem.type}, whose rules are your own`,
      {
        hint: "Tune those rules in that SIEM, and keep only timeWindow (which every SIEM's queries read) in the tuning file, or drop `tuning:`.",
      },
    );
  return siem;
}

/** The config's tuning file, read and checked (exit 2 on any problem); null when it names none. */
export function tuningFrom(config: HarnessConfig): Tuning | null {
  return config.tuning === undefined ? null : loadTuningFile(config.tuning);
}

/** The tuning's TimeWindow in ms (every SIEM), or null when the config names no tuning or it sets none. */
export function timeWindowOf(tuning: Tuning | null): number | null {
  return tuning === null ? null : timeWindowMs(tuning);
}

/** The environment variable names a SIEM config points at (`tokenEnv`, `hec.tokenEnv`, `passEnv`, …). */
export function siemSecretNames(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return [];
  return Object.entries(config).flatMap(([key, value]): string[] => {
    if (typeof value === 'string' && key.endsWith('Env')) return [value];
    if (key === 'passEnv' && Array.isArray(value))
      return value.filter((v): v is string => typeof v === 'string');
    return typeof value === 'object' ? siemSecretNames(value) : [];
  });
}

/** The values of those variables that are set and long enough (4+) to redact without mangling other text. */
export function siemSecretValues(config: unknown, env: Env): string[] {
  return siemSecretNames(config).flatMap((name) => {
    const value = env[name];
    return value !== undefined && value.length >= 4 ? [value] : [];
  });
}

/** The variables that must be set for the connector to connect: its own rule, else every one it names. */
export function requiredSiemEnv(config: SiemConfig): string[] {
  const definition = siemDefinition(config.type);
  return definition.requiredEnv?.(siemOptions(config)) ?? siemSecretNames(config);
}

/** How the configured SIEM is polled: its connector's pace, deadlines and query cap (siem-apis.md 6.3). */
export function siemPolling(config: SiemConfig): SiemPolling {
  return siemDefinition(config.type).polling;
}

/**
 * How many hosts run at once when the config and the command line say nothing: as many as the SIEM can
 * serve without stretching a poll round. A SIEM that answers a whole round in one query takes every pair
 * its batch holds; one asked per pair takes as many as its query cap allows per base interval (Splunk,
 * 2 per s x 5 s: 10); with neither, 16.
 */
export function fleetConcurrency(siem: Pick<SiemConnector, 'batchLimits'>, polling: SiemPolling): number {
  if (siem.batchLimits !== undefined) return siem.batchLimits.maxQueries;
  if (polling.maxQueriesPerSecond === null) return 16;
  return Math.max(1, Math.floor((polling.maxQueriesPerSecond * polling.schedule.intervalMs) / 1000));
}

/**
 * The configured SIEM, open and held to its query cap (shared by every host of the run). A SIEM whose TLS
 * is not checked is said once, here; the reports say so too.
 */
export async function openConfiguredSiem(
  config: SiemConfig,
  ctx: PluginContext,
  logger: Logger,
): Promise<SiemConnector> {
  const siem = await openSiem(config, ctx);
  logger.info(`SIEM: ${siem.describe()}`);
  if ('tls' in config && config.tls.insecure)
    logger.warn(
      'SIEM TLS certificate verification is OFF (tls.insecure): for labs only; the reports say so too',
    );
  const { maxQueriesPerSecond } = siemPolling(config);
  return maxQueriesPerSecond === null ? siem : rateLimited(siem, maxQueriesPerSecond, ctx);
}
