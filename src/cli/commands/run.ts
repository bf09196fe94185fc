import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { localHostLock } from '../../pipeline/host-lock.js';
import { join, resolve, sep } from 'node:path';
import type {
  HostTarget,
  PluginContext,
  ReportArtifact,
  RunContext,
  RunResult,
  ScenarioResult,
  SiemConnector,
} from '../../core/index.js';
import {
  HarnessError,
  errorMessage,
  labKindOf,
  needsPayloadServer,
  labNotice,
  newRunId,
  realSleep,
  systemClock,
} from '../../core/index.js';
import { redact } from '../../util/redact.js';
import { resolveHosts, selectHosts, selectInventory, type KnownHosts } from '../../config/inventory.js';
import type { Env } from '../../config/load.js';
import { signingKeyFrom } from '../../config/signing-key.js';
import { loadControls } from '../../config/controls.js';
import { reportFormats, type HarnessConfig } from '../../config/schema.js';
import { SshExecutorOptions } from '../../executors/ssh/schema.js';
import { executors } from '../../executors/registry.js';
import { probeHostKey } from '../../executors/ssh/index.js';
import { sensorProfiles, type SensorProfileName } from '../../lab/sensor-profiles.js';
import { startLabSimulator, type LabSimulator } from '../../lab/simulator.js';
import { startPayloadServer, type PayloadServer } from '../../payload-server/server.js';
import type { Shard } from '../../pipeline/plan.js';
import { notRunPairs, runHarness, summarizeRun } from '../../pipeline/run-harness.js';
import { preflightRender } from '../../render/render.js';
import { checkReportsWritable, readRunIndex } from '../../report/write.js';
import { loadScenariosOrThrow } from '../../scenario/load.js';
import { LocalSiemOptions } from '../../siem/local/schema.js';
import { rateLimited } from '../../siem/rate-limit.js';
import { siemConnectors } from '../../siem/registry.js';
import { reportsDirOf, selectScenarios, selectionNote } from '../../config/defaults.js';
import { exitCodeForRun, exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { notifyRun, notifySettings, publishOrFallback, type Published } from './publish.js';
import { advertisedHostWarning, embeddedPayloadHost, requirePayloadServer } from './payload-checks.js';

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

export function readKnownHosts(file: string): KnownHosts {
  if (!existsSync(file)) return {};
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return typeof parsed === 'object' && parsed !== null ? (parsed as KnownHosts) : {};
}

/**
 * --trust-new-host-keys: connect once to each host with no pinned key, record the key it presents in
 * .purple-harness/known-hosts.json (said loudly, to be checked out of band), then pin it for the run.
 */
/**
 * --trust-new-host-keys: reads each unpinned host's key without authenticating (probeHostKey) and records it.
 * A host that authenticates by key or agent then runs, pinned to that key. A password is sent only to a host
 * pinned before this run started: a password host is recorded here and refused until the next run, so an
 * impostor answering now can learn its key is recorded, never the password.
 */
async function pinHostKeys(hosts: HostTarget[], trust: boolean, output: Output): Promise<HostTarget[]> {
  if (!trust || hosts.every((h) => h.hostKeySha256 !== null)) return hosts;
  const file = resolve('.purple-harness', 'known-hosts.json');
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
    output.logger.warn(
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

/** A command's context on the real clock: a new run id, the output's logger, Ctrl-C and the secrets. */
export function commandContext(
  now: Date,
  output: Output,
  signal: AbortSignal,
  secrets: Set<string>,
): RunContext {
  return {
    runId: newRunId(now),
    clock: systemClock,
    sleep: realSleep,
    logger: output.logger,
    signal,
    secrets,
  };
}

/** Where the payload server listens and the name hosts use for it (loopback and payload.lab.test by default). */
export function payloadServerSettings(config: HarnessConfig): {
  bind: string;
  port: number;
  advertisedHost: string;
} {
  return config.payloadServer ?? { bind: '127.0.0.1', port: 0, advertisedHost: embeddedPayloadHost };
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}

/** Green for what passed, red for what failed, grey for what could not be judged. */
function colourOf(status: string): 'green' | 'red' | 'gray' {
  return status === 'pass' || status === 'passed'
    ? 'green'
    : status === 'fail' || status === 'failed' || status === 'error' || status === 'cleanup-failed'
      ? 'red'
      : 'gray';
}

/** Runs the scenarios; always writes whatever results exist before returning or throwing. */
export async function runCommand(options: RunOptions, output: Output): Promise<ExitCode> {
  const { config, secrets } = options;
  const selection = selectScenarios(options.paths, config, options.includeBuiltin);
  const scenarios = loadScenariosOrThrow(selection.paths, {
    allowCustomCommands: options.allowCustomCommands,
  });
  preflightRender(scenarios);
  const note = selectionNote(selection, options.includeBuiltin === true);
  if (note !== null) output.logger.info(note);
  const controls = loadControls(config.controls);
  const reportsDir = resolve(options.reportsDir ?? reportsDirOf(undefined, {}, config));
  // Checked first: a folder that takes no file, or an unreadable index, stops the run (exit 2) before
  // anything touches a host.
  checkReportsWritable(reportsDir);
  const history = readRunIndex(reportsDir);
  const embedded = config.lab === undefined;
  // Real hosts need a payload server they can reach for the scenarios that serve files.
  requirePayloadServer(config, scenarios);
  const warning = advertisedHostWarning(config, scenarios);
  if (warning !== null) output.logger.warn(warning);
  if (!embedded && options.labDropSignals.length > 0) {
    throw new HarnessError(
      'E_USAGE',
      '--lab-drop is a knob of the embedded lab simulator and cannot be used with a real lab',
    );
  }

  // The embedded lab's credentials are made per run; like any secret they are redacted everywhere.
  const env: Record<string, string | undefined> = { ...options.env };
  const labPassword = secret();
  secrets.add(labPassword);
  if (embedded) env.PURPLE_HARNESS_HEC_TOKEN ??= secret();
  // The config names the plug-in with `type`; the plug-in's own schema does not know that key.
  const siemConfig = config.siem ?? { type: 'local' as const };
  const localOptions = (() => {
    if (siemConfig.type !== 'local') return null;
    const { type: _type, ...rest } = siemConfig;
    const parsed = LocalSiemOptions.parse(rest);
    return { ...parsed, rules: [...parsed.rules, ...options.rules] };
  })();
  if (localOptions !== null) {
    const hecToken = env[localOptions.hec.tokenEnv];
    if (hecToken !== undefined) secrets.add(hecToken);
  } else if (options.rules.length > 0) {
    throw new HarnessError(
      'E_USAGE',
      `--rules loads Sigma rules into the local SIEM; the configured SIEM is ${siemConfig.type}`,
      {
        hint: 'Deploy your rules in that SIEM, or drop --rules.',
      },
    );
  }
  // Every variable the SIEM config names (…Env keys) holds a credential: redact its value everywhere.
  for (const value of siemSecretValues(siemConfig, env)) secrets.add(value);

  const now = systemClock.now();
  const ctx = commandContext(now, output, options.signal, secrets);
  const pluginContext = { ...ctx, env };
  const stopFile = resolve(config.stopFile);
  if (existsSync(stopFile))
    output.logger.warn(`the stop file ${stopFile} exists: nothing new will start until it is removed`);
  const formats = config.reports?.formats ?? reportFormats;

  if (!embedded && options.labSensor !== undefined) {
    throw new HarnessError(
      'E_USAGE',
      '--lab-sensor is a knob of the embedded lab simulator and cannot be used with a real lab',
    );
  }

  // Real targets are chosen and checked before anything starts: not in the inventory, or no pinned key
  // without --trust-new-host-keys, means exit 2 before any connection.
  const knownHostsFile = resolve('.purple-harness', 'known-hosts.json');
  const realHosts = embedded
    ? []
    : resolveHosts(
        selectInventory(config.lab?.hosts ?? [], options.hosts),
        env,
        secrets,
        false,
        readKnownHosts(knownHostsFile),
      );
  // The lab simulator started with `lab up` is in the inventory like any host, and still reported as simulated;
  // a run with both kinds is `mixed`, and every output names the simulated hosts.
  const labKind = embedded ? 'simulated' : labKindOf(realHosts);
  const unpinned = realHosts.filter((h) => h.hostKeySha256 === null);
  if (unpinned.length > 0 && !options.trustNewHostKeys) {
    throw new HarnessError(
      'E_CONFIG_INVALID',
      `no pinned host key for ${unpinned.map((h) => h.name).join(', ')}`,
      {
        hint: 'Pin hostKeySha256 in the inventory (docs/lab-setup.md shows how), or pass --trust-new-host-keys to record the key each host presents now.',
      },
    );
  }
  const { type: _executorType, ...executorConfig } = config.executor ?? { type: 'ssh' };
  const executor = executors.ssh.create(SshExecutorOptions.parse(executorConfig), pluginContext);

  let siem: SiemConnector | null = null;
  let lab: LabSimulator | null = null;
  let payloadServer: PayloadServer | null = null;
  let result: RunResult;
  let hosts: HostTarget[] = realHosts;
  const collected: ScenarioResult[] = [];
  const evidence: ReportArtifact[] = [];
  const signingKey = signingKeyFrom(env, secrets);
  const notify = notifySettings(config, env, secrets);
  const write = (run: RunResult) =>
    publishOrFallback(run, { reportsDir, formats, evidence, secrets, signingKey }, output);
  try {
    siem = await createSiem(siemConfig, localOptions, pluginContext);
    if (embedded || scenarios.some((s) => needsPayloadServer(s.spec))) {
      const { bind } = payloadServerSettings(config);
      payloadServer = await startPayloadServer(payloadServerSettings(config));
      output.logger.info(`payload server: ${payloadServer.baseUrl} (listening on ${bind})`);
    }
    if (embedded) {
      const endpoint = siem.ingestEndpoint();
      if (!endpoint)
        throw new HarnessError('E_LAB', `the embedded lab cannot send events to the ${siem.id} SIEM`, {
          hint: 'Configure a lab (lab.hosts) whose own forwarder feeds that SIEM, or use a SIEM the simulator can feed (docs/connectors/).',
        });
      lab = await startLabSimulator({
        password: labPassword,
        sink: endpoint,
        dropSignals: options.labDropSignals,
        // The simulated host resolves the payload server's advertised name to loopback, as lab DNS would.
        dns: payloadServer ? { [payloadServer.advertisedHost]: '127.0.0.1' } : {},
        ...(options.labSensor !== undefined ? { sensorProfile: options.labSensor } : {}),
      });
      output.logger.info(
        `embedded lab: sensor profile ${lab.sensorProfile}: ${sensorProfiles[lab.sensorProfile].description}`,
      );
      output.logger.info(
        `embedded lab: SIMULATED Windows host ${lab.computer} on ${lab.address}:${lab.port} (host key ${lab.hostKeySha256})`,
      );
      if (options.labDropSignals.length > 0)
        output.logger.info(`embedded lab: dropping events for ${options.labDropSignals.join(', ')}`);
      hosts = [
        {
          name: lab.computer.split('.')[0] ?? lab.computer,
          address: lab.address,
          port: lab.port,
          username: lab.username,
          hostKeySha256: lab.hostKeySha256,
          auth: { password: labPassword },
          simulated: true,
        },
      ];
      hosts = selectHosts(hosts, options.hosts);
    }
    output.logger.info(`SIEM: ${siem.describe()}`);
    if ('tls' in siemConfig && siemConfig.tls.insecure)
      output.logger.warn(
        'SIEM TLS certificate verification is OFF (tls.insecure): for labs only; the reports say so too',
      );
    // Each SIEM is polled at its own pace and within its quota (siem-apis.md 6.3).
    const polling = siemConnectors[siemConfig.type].polling;
    if (polling.maxQueriesPerSecond !== null) siem = rateLimited(siem, polling.maxQueriesPerSecond, ctx);

    hosts = await pinHostKeys(hosts, options.trustNewHostKeys, output);
    result = await runHarness(
      {
        scenarios,
        hosts,
        executor,
        siem,
        lab: labKind,
        schedule: polling.schedule,
        deadlines: polling,
        version: options.version,
        ...(payloadServer ? { payloadServer } : {}),
        controls,
        history: history.runs,
        shard: options.shard,
        onResult: (r) => collected.push(r),
        onEvidence: (files) => evidence.push(...files),
        concurrency: options.concurrency ?? config.lab?.concurrency ?? 4,
        preflight: options.preflight,
        lockHost: localHostLock(resolve('.purple-harness', 'locks')),
        shouldStop: () => existsSync(stopFile),
      },
      ctx,
    );
  } catch (error) {
    // Nothing already collected is lost: write what finished before the error, then let main report it.
    if (collected.length > 0 && siem) {
      const partial = summarizeRun(
        {
          lab: labKind,
          version: options.version,
          siem,
          controls,
          history: history.runs,
          shard: options.shard,
        },
        collected,
        { startedAt: now.toISOString(), finishedAt: systemClock.now().toISOString() },
        ctx,
        {
          crashed: true,
          notRun: notRunPairs(
            { scenarios, hosts, shard: options.shard },
            collected,
            () => `the run stopped with an error first: ${redact(errorMessage(error), secrets)}`,
          ),
        },
      );
      const { written } = write(partial);
      if (written !== null) {
        output.err(`[purple-harness] partial results written to ${written.dir}`);
        await notifyRun(partial, notify, written.dir, output);
      }
    }
    throw error;
  } finally {
    await lab?.close();
    await payloadServer?.close();
    await siem?.dispose();
    if (lab) warnLabDelivery(lab.shipping, output);
  }

  const { written, problem } = write(result);
  const runCode = exitCodeForRun(result.status, result.regressions.length);
  // Reports kept only in the fallback folder (or nowhere) are an infrastructure failure of a passing run.
  const exitCode = problem !== null && runCode === exitCodes.passed ? exitCodes.infrastructure : runCode;
  const notice = labNotice(result);
  if (options.json) {
    output.out(
      JSON.stringify(
        {
          runId: result.runId,
          status: result.status,
          exitCode,
          lab: result.lab,
          ...(notice === null ? {} : { notice }),
          summary: result.summary,
          notRun: result.notRun,
          regressions: result.regressions,
          scenarios: result.results.map((r) => ({
            scenario: r.scenario.id,
            host: r.host.name,
            status: r.status,
            signals: r.signals.map((s) => ({ id: s.id, verdict: s.verdict, reason: s.reason })),
          })),
          reportDir: written?.dir ?? null,
          ...(problem === null ? {} : { reportProblem: redact(problem, secrets) }),
        },
        null,
        2,
      ),
    );
  } else printRun(result, written, output);
  if (written !== null) await notifyRun(result, notify, written.dir, output);
  return exitCode;
}

/** The run as lines for people: each scenario and signal, the report files and any regression. */
function printRun(result: RunResult, written: Published | null, output: Output): void {
  const notice = labNotice(result);
  if (notice !== null) output.out(notice);
  for (const scenario of result.results) {
    output.out(
      `${output.paint(scenario.status.toUpperCase().padEnd(12), colourOf(scenario.status))} ${scenario.scenario.id} on ${scenario.host.name}`,
    );
    if (scenario.error) output.out(`  error        ${scenario.error.code}: ${scenario.error.message}`);
    for (const signal of scenario.signals)
      output.out(
        `  ${output.paint(signal.verdict.padEnd(12), colourOf(signal.verdict))} ${signal.id}: ${signal.reason}`,
      );
  }
  for (const pair of result.notRun)
    output.out(
      `${output.paint('NOT RUN'.padEnd(12), 'yellow')} ${pair.scenario} on ${pair.host}: ${pair.reason}`,
    );
  if (result.results.length === 0 && result.notRun.length === 0)
    output.out(
      'nothing was planned: no scenario x host pair in this run (check the scenarios, --host and --shard)',
    );
  output.out(
    `run ${result.runId}: ${result.status} (${result.summary.pass} pass, ${result.summary.fail} fail, ${result.summary.late} late, ${result.summary.inconclusive} inconclusive)`,
  );
  if (written !== null) {
    const evidenceFiles = written.files.filter((f) => f.includes(`${sep}evidence${sep}`));
    for (const file of written.files) if (!evidenceFiles.includes(file)) output.out(`report: ${file}`);
    for (const file of written.indexFiles) output.out(`history: ${file}`);
    output.out(
      `evidence: ${String(evidenceFiles.length)} files under ${join(written.dir, 'evidence')}, hashed in manifest.json (check with: purple-harness verify ${written.dir})`,
    );
  } else output.out('report: none written (see the error above)');
  for (const r of result.regressions)
    output.out(
      `REGRESSION   ${r.signal} in ${r.scenario} on ${r.host}: passed in run ${r.previousRunId}, fails now`,
    );
}

/** The configured SIEM connector; the config was validated by its schema already. */
export async function createSiem(
  config: NonNullable<HarnessConfig['siem']> | { readonly type: 'local' },
  local: LocalSiemOptions | null,
  ctx: PluginContext,
): Promise<SiemConnector> {
  switch (config.type) {
    case 'local':
      if (local === null) throw new Error('local SIEM options missing');
      return siemConnectors.local.create(local, ctx);
    case 'elastic': {
      const { type: _type, ...options } = config;
      return siemConnectors.elastic.create(options, ctx);
    }
    case 'splunk': {
      const { type: _type, ...options } = config;
      return siemConnectors.splunk.create(options, ctx);
    }
    case 'sentinel': {
      const { type: _type, ...options } = config;
      return siemConnectors.sentinel.create(options, ctx);
    }
    case 'command': {
      const { type: _type, ...options } = config;
      return siemConnectors.command.create(options, ctx);
    }
  }
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

/** Events the embedded lab could not deliver make "not captured" the lab's fault: said, never silent. */
function warnLabDelivery(shipping: LabSimulator['shipping'], output: Output): void {
  if (shipping.failedBatches === 0 && shipping.rejected === 0) return;
  output.logger.warn(
    `embedded lab: the SIEM did not take every event (${String(shipping.failedBatches)} batch(es) failed, ${String(shipping.rejected)} event(s) refused): ${shipping.lastError ?? 'no reason given'}`,
  );
}
