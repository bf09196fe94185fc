import { reportsDirOf } from '../../config/defaults.js';
import { join, resolve } from 'node:path';
import type { HostTarget, LoadedScenario, PayloadPublisher, SiemConnector } from '../../core/index.js';
import { HarnessError, labKindOf, systemClock } from '../../core/index.js';
import { resolveHosts, selectInventory } from '../../config/inventory.js';
import { openExecutor } from '../../executors/registry.js';
import type { Env } from '../../config/load.js';
import type { HarnessConfig } from '../../config/schema.js';
import { startPayloadServer, type PayloadServer } from '../../payload-server/server.js';
import { localHostLock } from '../../pipeline/host-lock.js';
import { runSmoke, type SmokePath } from '../../pipeline/smoke.js';
import { smokeBundle } from '../../report/smoke-bundle.js';
import { writeRendered } from '../../report/write.js';
import { loadScenariosOrThrow } from '../../scenario/load.js';
import { builtinScenariosDir, smokeScenariosDir } from '../../util/paths.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { commandContext } from '../../setup/context.js';
import { knownHostsFile, readKnownHosts } from '../../setup/hosts.js';
import { payloadServerSettings } from '../../setup/payload.js';
import { openConfiguredSiem, siemFromConfig, siemPolling, siemSecretValues } from '../../setup/siem.js';

export interface LabSmokeOptions {
  readonly config: HarnessConfig;
  readonly configFile: string | undefined;
  readonly env: Env;
  readonly hosts: readonly string[];
  readonly out: string | undefined;
  readonly version: string;
  readonly secrets: Set<string>;
  readonly signal: AbortSignal;
}

/** The cmstp paths, in the order a Windows engineer would try them, and the scenario each one runs. */
const smokePaths = [
  {
    id: 's-ns',
    title: 'cmstp /s /ns: single-user install, RunPreSetupCommands',
    file: 'builtin:cmstp-local-inf-presetup.yaml',
  },
  {
    id: 'su',
    title: 'cmstp /s /su: the same install asked for with /su',
    file: 'smoke:cmstp-single-user-su.yaml',
  },
  {
    id: 'au-custom-destination',
    title: 'cmstp /s /au with a CustomDestination section (the public UAC-bypass INF)',
    file: 'builtin:art-t1218-003-2-uac-bypass.yaml',
  },
  {
    id: 'au-no-custom-destination',
    title: 'cmstp /s /ns /au with no CustomDestination section',
    file: 'builtin:cmstp-all-users-au.yaml',
  },
  {
    id: 'remote-scriptlet-host-name',
    title: 'Remote scriptlet, payload host by name (Sysmon 22 and 3)',
    file: 'builtin:cmstp-remote-scriptlet.yaml',
    payload: 'name',
  },
  {
    id: 'remote-scriptlet-ip-literal',
    title: 'Remote scriptlet, payload host as an IP literal (Sysmon 3 DestinationHostname may be empty)',
    file: 'builtin:cmstp-remote-scriptlet.yaml',
    payload: 'ip',
  },
  {
    id: 'negative-control',
    title: 'Negative control: an administrator installing a plain profile',
    file: 'builtin:cmstp-negative-control-admin-install.yaml',
  },
  {
    id: 'icmluautil',
    title: 'CMSTPLUA ICMLuaUtil elevation moniker (no cmstp.exe)',
    file: 'builtin:cmstp-com-elevation-icmluautil.yaml',
  },
] as const;

function scenarioFile(ref: string): string {
  const [where, name = ''] = ref.split(':');
  return join(where === 'smoke' ? smokeScenariosDir() : builtinScenariosDir(), name);
}

/** The one inventory host the smoke runs on, with its pinned key; anything else is exit 2 before any connection. */
function chooseHost(options: LabSmokeOptions): HostTarget {
  const inventory = options.config.lab?.hosts ?? [];
  if (options.config.lab === undefined || inventory.length === 0)
    throw new HarnessError(
      'E_USAGE',
      'lab smoke runs against a lab host from the inventory, and the config names none',
      {
        hint: 'purple-harness lab smoke --config FILE --host NAME, with the host under lab.hosts (docs/lab-setup.md); for the simulated lab, start `purple-harness lab up --pwsh pwsh` and use the config it writes.',
      },
    );
  if (options.hosts.length !== 1)
    throw new HarnessError(
      'E_USAGE',
      `lab smoke runs on exactly one host; ${options.hosts.length === 0 ? 'none was named' : `${String(options.hosts.length)} were`}`,
      {
        hint: `Name it with --host (the inventory has ${inventory.map((h) => h.name).join(', ')}).`,
      },
    );
  const [host] = resolveHosts(
    selectInventory(inventory, options.hosts),
    options.env,
    options.secrets,
    false,
    readKnownHosts(knownHostsFile()),
  );
  if (host === undefined)
    throw new HarnessError('E_USAGE', `no inventory host matches ${options.hosts.join(', ')}`);
  if (host.hostKeySha256 === null)
    throw new HarnessError('E_CONFIG_INVALID', `no pinned host key for ${host.name}`, {
      hint: 'Pin hostKeySha256 in the inventory (docs/lab-setup.md shows how to read it on the host), or record it once with `purple-harness run --trust-new-host-keys`.',
    });
  return host;
}

/** The payload server as the hosts reach it by IP literal; null when its address is not known. */
function byIpLiteral(server: PayloadServer): PayloadPublisher | null {
  if (server.address === null) return null;
  const port = new URL(server.baseUrl).port;
  return { ...server, baseUrl: `http://${server.address}:${port}` };
}

/**
 * `lab smoke --config FILE --host NAME`: the first thing to run on a new lab host (docs/lab-setup.md). Every
 * step runs whatever failed before it; the bundle is written whatever happened.
 */
export async function labSmokeCommand(options: LabSmokeOptions, output: Output): Promise<ExitCode> {
  const { config, secrets } = options;
  const host = chooseHost(options);
  const scenarios = new Map<string, LoadedScenario>();
  for (const path of smokePaths) {
    const [loaded] = loadScenariosOrThrow([scenarioFile(path.file)], { allowCustomCommands: false });
    if (loaded !== undefined) scenarios.set(path.file, loaded);
  }
  const env: Record<string, string | undefined> = { ...options.env };
  const siemConfig = siemFromConfig(config);
  for (const value of siemSecretValues(siemConfig, env)) secrets.add(value);
  const ctx = commandContext(systemClock.now(), output, options.signal, secrets);
  const pluginContext = { ...ctx, env };
  const executor = await openExecutor(config.executor, pluginContext);
  const out = resolve(options.out ?? join(reportsDirOf(undefined, {}, config), 'smoke', ctx.runId));
  let siem: SiemConnector | null = null;
  let payloadServer: PayloadServer | null = null;
  const release = await localHostLock(resolve('.purple-harness', 'locks'))(host);
  try {
    siem = await openConfiguredSiem(siemConfig, pluginContext, output.logger);
    const polling = siemPolling(siemConfig);
    const { bind, advertisedHost } = payloadServerSettings(config);
    payloadServer = await startPayloadServer(payloadServerSettings(config));
    const ipLiteral = byIpLiteral(payloadServer);
    const paths = smokePaths.map((path): SmokePath => {
      const scenario = scenarios.get(path.file);
      if (scenario === undefined) throw new Error(`smoke scenario ${path.file} missing`);
      const payload = 'payload' in path ? path.payload : 'name';
      return {
        id: path.id,
        title: path.title,
        scenario,
        payloadServer: payload === 'ip' ? ipLiteral : payloadServer,
        ...(payload === 'ip' && ipLiteral === null
          ? {
              unavailable: `the payload server's address is not known (payloadServer.bind ${bind}, advertisedHost ${advertisedHost}): set bind to the address the hosts reach`,
            }
          : {}),
      };
    });
    output.logger.info(
      `lab smoke on ${host.name} (${host.address}); SIEM: ${siem.describe()}; bundle: ${out}`,
    );
    const report = await runSmoke(
      {
        host,
        executor,
        siem,
        lab: labKindOf([host]),
        schedule: polling.schedule,
        deadlines: polling,
        paths,
        version: options.version,
        // Written after every step: a smoke killed half-way still leaves what it saw.
        onProgress: (sofar) => writeRendered(out, smokeBundle(sofar), secrets),
      },
      ctx,
    );
    writeRendered(out, smokeBundle(report), secrets);
    if (report.host.simulated)
      output.out('SIMULATED LAB: this smoke ran against the lab simulator, not Windows.');
    for (const step of report.steps)
      output.out(
        `${output.paint((step.outcome === 'ok' ? 'OK' : step.outcome === 'problem' ? 'PROBLEM' : 'NOT RUN').padEnd(9), step.outcome === 'ok' ? 'green' : step.outcome === 'problem' ? 'red' : 'yellow')} ${step.id}: ${step.findings.join('; ') || step.title}`,
      );
    output.out(`smoke ${report.runId}: ${report.status}`);
    output.out(`bundle: ${out} (smoke.md to read, smoke.json with every fact, events/ the host's own logs)`);
    return report.status === 'passed'
      ? exitCodes.passed
      : report.status === 'failed'
        ? exitCodes.assertionFailed
        : ctx.signal.aborted
          ? exitCodes.interrupted
          : exitCodes.infrastructure;
  } finally {
    await payloadServer?.close();
    await siem?.dispose();
    await release();
  }
}
