import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  HarnessError,
  labKindOf,
  systemClock,
  type ControlDefinition,
  type Executor,
  type HostTarget,
  type LabKind,
  type LoadedScenario,
  type Logger,
  type PluginContext,
  type RunContext,
  type RunIndexEntry,
  type SiemConnector,
  type SiemPolling,
} from '../core/index.js';
import { loadControls } from '../config/controls.js';
import { selectHosts } from '../config/inventory.js';
import { reportsDirOf, selectScenarios, selectionNote } from '../config/defaults.js';
import type { Env } from '../config/load.js';
import type { HarnessConfig } from '../config/schema.js';
import { signingKeyFrom } from '../config/signing-key.js';
import { openExecutor } from '../executors/registry.js';
import type { SensorProfileName } from '../lab/sensor-profiles.js';
import type { LabSimulator } from '../lab/simulator.js';
import type { PayloadServer } from '../payload-server/server.js';
import type { Shard } from '../pipeline/plan.js';
import { preflightRender } from '../render/render.js';
import { checkReportsWritable, readRunIndex } from '../report/write.js';
import { loadReporters, reportFormats, type LoadedReporters } from '../reporters/registry.js';
import { loadScenariosOrThrow } from '../scenario/load.js';
import type { SiemConfig } from '../siem/registry.js';
import { commandContext, newSecret } from './context.js';
import { startEmbeddedLab } from './embedded-lab.js';
import { pinHostKeys, realTargets } from './hosts.js';
import { advertisedHostWarning, requirePayloadServer, startPayloadServerFor } from './payload.js';
import {
  openConfiguredSiem,
  siemFromConfig,
  siemPolling,
  siemSecretValues,
  timeWindowOf,
  tuningFrom,
} from './siem.js';

export interface RunOptions {
  readonly paths: readonly string[];
  /** --include-builtin: the built-in scenarios as well as those named or the user's own. */
  readonly includeBuiltin?: boolean;
  readonly config: HarnessConfig;
  readonly env: Env;
  readonly hosts: readonly string[];
  readonly reportsDir: string | undefined;
  readonly labDropSignals: readonly string[];
  /** --lab-sensor, already checked against the profiles by the command line. */
  readonly labSensor: SensorProfileName | undefined;
  readonly allowCustomCommands: boolean;
  readonly concurrency: number | undefined;
  readonly trustNewHostKeys: boolean;
  readonly preflight: 'strict' | 'lenient';
  /** Print one JSON document at the end instead of lines. */
  readonly json?: boolean;
  /** `--shard i/n`: run only this slice of the scenario x host pairs. */
  readonly shard: Shard | null;
  /** Extra Sigma rule folders for the local SIEM (--rules), on top of the config's. */
  readonly rules: readonly string[];
  readonly version: string;
  readonly secrets: Set<string>;
  readonly signal: AbortSignal;
}

/** A run with every input read and checked: nothing has been contacted or started yet. */
export interface PreparedRun {
  readonly scenarios: readonly LoadedScenario[];
  /** The tuning's TimeWindow (ms), for every SIEM; null when none is set. */
  readonly timeWindowMs: number | null;
  readonly controls: readonly ControlDefinition[];
  readonly reportsDir: string;
  readonly history: readonly RunIndexEntry[];
  /** No lab configured: the simulated host is started for this run. */
  readonly embedded: boolean;
  readonly labKind: LabKind;
  /** Real targets (empty on the embedded lab, whose host exists only once started). */
  readonly realHosts: HostTarget[];
  readonly siem: SiemConfig;
  readonly polling: SiemPolling;
  readonly env: Env;
  readonly labPassword: string;
  readonly stopFile: string;
  readonly signingKey: KeyObject | null;
  readonly ctx: RunContext;
  readonly pluginContext: PluginContext;
}

/** Knobs of the embedded lab simulator, refused with a real lab. */
function refuseLabKnobs(options: RunOptions): void {
  if (options.config.lab === undefined) return;
  for (const [flag, used] of [
    ['--lab-drop', options.labDropSignals.length > 0],
    ['--lab-sensor', options.labSensor !== undefined],
  ] as const)
    if (used)
      throw new HarnessError(
        'E_USAGE',
        `${flag} is a knob of the embedded lab simulator and cannot be used with a real lab`,
      );
}

/** The scenarios the command line (or the config, or the defaults) selects, loaded and rendered once. */
function scenariosFor(options: RunOptions, logger: Logger): readonly LoadedScenario[] {
  const selection = selectScenarios(options.paths, options.config, options.includeBuiltin);
  const scenarios = loadScenariosOrThrow(selection.paths, {
    allowCustomCommands: options.allowCustomCommands,
  });
  preflightRender(scenarios);
  const note = selectionNote(selection, options.includeBuiltin === true);
  if (note !== null) logger.info(note);
  return scenarios;
}

/**
 * Reads and checks everything a run needs before anything is contacted: any problem is exit 2 with no host
 * touched. Every credential it reads is added to the secrets.
 */
export function prepareRun(options: RunOptions, logger: Logger): PreparedRun {
  const { config, secrets } = options;
  const scenarios = scenariosFor(options, logger);
  const controls = loadControls(config.controls);
  // The SIEM's config, its tuning file read and checked, before the reports folder is made.
  const tuning = tuningFrom(config);
  const siem = siemFromConfig(config, options.rules, tuning);
  const timeWindowMs = timeWindowOf(tuning);
  const reportsDir = resolve(options.reportsDir ?? reportsDirOf(undefined, {}, config));
  // A folder that takes no file, or an unreadable index, stops the run before anything touches a host.
  checkReportsWritable(reportsDir);
  const history = readRunIndex(reportsDir);
  requirePayloadServer(config, scenarios);
  const warning = advertisedHostWarning(config, scenarios);
  if (warning !== null) logger.warn(warning);
  refuseLabKnobs(options);
  const embedded = config.lab === undefined;
  // The embedded lab's credentials are made per run; like any secret they are redacted everywhere.
  const env: Record<string, string | undefined> = { ...options.env };
  const labPassword = newSecret();
  secrets.add(labPassword);
  if (embedded) env.PURPLE_HARNESS_HEC_TOKEN ??= newSecret();
  // Every variable the SIEM config names (…Env keys) holds a credential: redact its value everywhere.
  for (const value of siemSecretValues(siem, env)) secrets.add(value);
  const ctx = commandContext(systemClock.now(), { logger }, options.signal, secrets);
  const stopFile = resolve(config.stopFile);
  if (existsSync(stopFile))
    logger.warn(`the stop file ${stopFile} exists: nothing new will start until it is removed`);
  const realHosts = embedded
    ? []
    : realTargets(config, options.hosts, env, secrets, options.trustNewHostKeys);
  return {
    scenarios,
    timeWindowMs,
    controls,
    reportsDir,
    history: history.runs,
    embedded,
    // `lab up`'s simulator is in the inventory like any host and still reported as simulated.
    labKind: embedded ? 'simulated' : labKindOf(realHosts),
    realHosts,
    siem,
    polling: siemPolling(siem),
    env,
    labPassword,
    stopFile,
    signingKey: signingKeyFrom(env, secrets),
    ctx,
    pluginContext: { ...ctx, env },
  };
}

/** The plug-ins and servers a run uses, opened; `close()` stops them all, whatever happened. */
export interface OpenRun {
  readonly siem: SiemConnector;
  readonly executor: Executor;
  readonly reporters: LoadedReporters;
  readonly payloadServer: PayloadServer | null;
  readonly lab: LabSimulator | null;
  readonly hosts: HostTarget[];
  close(): Promise<void>;
}

/**
 * Opens the run's plug-ins through their registries, the payload server and (with no lab configured) the
 * embedded lab, then pins new host keys. Whatever was opened is closed again if a later step fails.
 */
export async function openRun(prepared: PreparedRun, options: RunOptions, logger: Logger): Promise<OpenRun> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const reporters = await loadReporters(options.config.reports?.formats ?? reportFormats);
    const executor = await openExecutor(options.config.executor, prepared.pluginContext);
    const siem = await openConfiguredSiem(prepared.siem, prepared.pluginContext, logger);
    closers.push(() => siem.dispose());
    const payloadServer = await startPayloadServerFor(options.config, prepared.scenarios, logger);
    if (payloadServer !== null) closers.push(() => payloadServer.close());
    let lab: LabSimulator | null = null;
    let hosts = prepared.realHosts;
    if (prepared.embedded) {
      const started = await startEmbeddedLab(
        siem,
        payloadServer,
        {
          password: prepared.labPassword,
          dropSignals: options.labDropSignals,
          sensorProfile: options.labSensor,
        },
        logger,
      );
      lab = started.lab;
      closers.push(() => started.lab.close());
      // --host applies to the simulated host as to an inventory; a name it does not match is a usage error.
      hosts = selectHosts([started.host], options.hosts);
    }
    hosts = await pinHostKeys(hosts, options.trustNewHostKeys, logger);
    return { siem, executor, reporters, payloadServer, lab, hosts, close };
  } catch (error) {
    await close();
    throw error;
  }
}
