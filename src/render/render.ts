import type {
  LoadedScenario,
  PayloadAction,
  RenderedEmulation,
  RemoteOperation,
  ServedFile,
} from '../core/index.js';
import { HarnessError, canaryText, errorMessage, isMarker } from '../core/index.js';
import { sha256 } from '../util/hash.js';
import {
  checkInfContext,
  checkInfValue,
  compileStrict,
  createCommandEngine,
  readTemplate,
} from './engine.js';

/** Where every run lives on the target: one folder per marker, under a harness-owned root. */
export const remoteRoots = {
  programdata: 'C:\\ProgramData\\purple-harness\\runs',
  'program-files': 'C:\\Program Files\\purple-harness\\runs',
} as const;

/** The target-side half of the per-host lock (the local half is pipeline/host-lock.ts). */
export const targetLockPath = 'C:\\ProgramData\\purple-harness\\host.lock';

/** The harness's working folder on the target: run folders, uploaded scripts and the lock live under it. */
export const workingFolder = 'C:\\ProgramData\\purple-harness';

/** Stands in for the payload server's address when rendering without one (validate, render). */
export const placeholderPayloadBase = 'http://payload.invalid:80';

export interface RenderOptions {
  readonly marker: string;
  readonly inputs?: Readonly<Record<string, string | number | boolean>>;
  /** The payload server's base URL, e.g. http://payload.lab.test:41234; needed by scriptlet scenarios. */
  readonly payloadBaseUrl?: string;
  /** Its addresses (PayloadPublisher), for a scriptlet fetched by IP literal (`scriptlet.from`). */
  readonly payloadAddresses?: { readonly address: string | null; readonly secondAddress: string | null };
}

/** Stand in for the payload server's addresses beside placeholderPayloadBase (TEST-NET-1, RFC 5737). */
const placeholderAddresses = { address: '192.0.2.10', secondAddress: '192.0.2.11' } as const;

/**
 * The base URL a scriptlet is fetched from: the payload server by name, or one of its addresses as an IP
 * literal (`scriptlet.from`), at the same port. An address the server does not have stops the render (exit 2).
 */
function scriptletBase(
  spec: LoadedScenario['spec'],
  from: 'name' | 'address' | 'second-address',
  options: RenderOptions,
): string | undefined {
  if (from === 'name' || options.payloadBaseUrl === undefined) return options.payloadBaseUrl;
  const addresses =
    options.payloadAddresses ??
    (options.payloadBaseUrl === placeholderPayloadBase ? placeholderAddresses : undefined);
  const address = from === 'address' ? addresses?.address : addresses?.secondAddress;
  if (address === null || address === undefined)
    throw new HarnessError(
      'E_USAGE',
      `[render] ${spec.id} fetches its scriptlet from the payload server's ${from === 'address' ? 'address' : 'second address'}, which this payload server does not have`,
      {
        hint:
          from === 'address'
            ? 'Give payloadServer a bind (or advertisedHost) that is an IPv4 address the lab hosts reach.'
            : 'Give payloadServer a secondBind: a second IPv4 address of this machine the lab hosts reach (docs/config.md).',
      },
    );
  return `http://${address}:${new URL(options.payloadBaseUrl).port || '80'}`;
}

/** The benign catalogue's commands. `none` gives no command: the template must not ask for one. */
function payloadCommand(action: PayloadAction, marker: string, markerPath: string): string | undefined {
  switch (action) {
    case 'marker-file':
      return `cmd.exe /c echo ${marker}> ${markerPath}`;
    case 'marker-process':
      return `cmd.exe /c echo ${marker}`;
    case 'none':
    case 'custom':
      return undefined;
  }
}

const payloadEvidence = {
  'marker-file': 'marker-file',
  'marker-process': 'exit-code',
  none: 'none',
  custom: 'exit-code',
} as const satisfies Record<PayloadAction, RenderedEmulation['payloadEvidence']>;

/**
 * Only cmstp's start can be proven without /s (it waits for a confirmation dialog and runs nothing) and for
 * an INF by URL (the one public sample shows nothing after the start: cmstp-telemetry.md 1.1).
 */
function evidenceOf(spec: LoadedScenario['spec']): RenderedEmulation['payloadEvidence'] {
  const { cmstp, inf } = spec.emulation;
  return (cmstp !== undefined && !cmstp.flags.includes('/s')) || inf?.via === 'url'
    ? 'started'
    : payloadEvidence[spec.emulation.payload.action];
}

/**
 * The staged file as a share path, through the host's own administrative share (C:\x → \\localhost\C$\x):
 * an INF on a share without a file server of the harness's own; every Windows host has the share.
 */
function adminSharePath(path: string): string {
  return `\\\\localhost\\${path.slice(0, 1)}$\\${path.slice(3)}`;
}

/** A file for the payload server to serve under the run's folder; the scenario needs a payload server. */
function served(
  spec: LoadedScenario['spec'],
  payloadBaseUrl: string | undefined,
  marker: string,
  name: string,
  content: string,
): ServedFile {
  if (payloadBaseUrl === undefined) {
    throw new HarnessError(
      'E_USAGE',
      `[render] ${spec.id} serves ${name} from the payload server, but no payload server is running`,
      {
        hint: 'Set payloadServer in the config (the embedded lab starts one by itself).',
      },
    );
  }
  const base = new URL(payloadBaseUrl);
  const path = `/${marker}/${name}`;
  return { host: base.hostname, path, url: `${base.origin}${path}`, content, sha256: sha256(content) };
}

/** JavaScript string literal for scriptlets: JSON's escaping is valid JScript. */
function js(value: unknown): string {
  return JSON.stringify(String(value));
}

/**
 * One engine per process and each template compiled once: a run or plan of many scenarios renders the same
 * templates again and again (the files are the package's own and do not change while it runs).
 */
let shared: ReturnType<typeof createCommandEngine> | null = null;
const compiled = new Map<string, HandlebarsTemplateDelegate>();
function commandEngine(): ReturnType<typeof createCommandEngine> {
  shared ??= createCommandEngine();
  return shared;
}

function renderWith(
  engine: ReturnType<typeof createCommandEngine>,
  name: string,
  context: Record<string, unknown>,
): string {
  try {
    const template = compiled.get(name) ?? compileStrict(engine, readTemplate(name), name);
    compiled.set(name, template);
    return template(context);
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    throw new HarnessError('E_TEMPLATE', `[render] template ${name}: ${errorMessage(error)}`, {
      cause: error,
      hint: 'Every {{variable}} in a template must be provided: declare scenario inputs under `inputs:`.',
    });
  }
}

function renderString(
  engine: ReturnType<typeof createCommandEngine>,
  text: string,
  name: string,
  context: Record<string, unknown>,
): string {
  try {
    return compileStrict(engine, text, name)(context);
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    throw new HarnessError('E_TEMPLATE', `[render] ${name}: ${errorMessage(error)}`, {
      cause: error,
      hint: 'customCommand may use {{marker}} and {{markerPath}} only.',
    });
  }
}

/**
 * How long the executor waits for each remote operation: the script's own limits plus slack for the
 * client's watchdog. The emulation itself (run-cmstp, com-shellexec) gets the scenario's `execute` timeout
 * plus `launchSlackMs`.
 */
const operationTimeoutMs = {
  'secure-folder': 30_000,
  preflight: 30_000,
  canary: 30_000,
  snapshot: 30_000,
  'lock-host': 30_000,
  'unlock-host': 30_000,
  // cmstp /s /u gets 30 s on the host.
  'uninstall-profile': 45_000,
  cleanup: 60_000,
  probe: 45_000,
  'host-state': 60_000,
  'export-events': 120_000,
} as const;
const launchSlackMs = 15_000;

type OperationName = keyof typeof operationTimeoutMs | 'run-cmstp' | 'com-shellexec';

/** A remote operation's script, rendered from templates/remote/<name>.ps1.hbs with the command engine. */
function remoteOperation(
  engine: ReturnType<typeof commandEngine>,
  name: OperationName,
  timeoutMs: number,
  vars: Record<string, unknown>,
): RemoteOperation {
  return { name, timeoutMs, script: renderWith(engine, `remote/${name}.ps1.hbs`, vars) };
}

/** Renders one scenario for one run marker: the INF, the cmstp command line and the remote operations. */
export function renderEmulation(loaded: LoadedScenario, options: RenderOptions): RenderedEmulation {
  const { spec } = loaded;
  const { marker } = options;
  if (!/^[a-z0-9]{8,32}$/.test(marker))
    throw new HarnessError(
      'E_UNSAFE_VALUE',
      `run marker must be 8-32 lower-case letters or digits: ${marker}`,
    );
  const engine = commandEngine();
  engine.registerHelper('js', js);
  const runDir = `${remoteRoots[spec.emulation.inf?.stage ?? 'programdata']}\\${marker}`;
  const markerPath = `${runDir}\\${marker}.txt`;
  const inputs: Record<string, string | number | boolean> = {};
  for (const [name, input] of Object.entries(spec.inputs))
    inputs[name] = options.inputs?.[name] ?? input.default;
  const { customCommand } = spec.emulation.payload;
  // A custom command (allowed only with --allow-custom-commands) may name the marker and its file.
  const command =
    spec.emulation.payload.action === 'custom' && customCommand !== undefined
      ? renderString(engine, customCommand, 'customCommand', { marker, markerPath })
      : payloadCommand(spec.emulation.payload.action, marker, markerPath);

  const op = (name: keyof typeof operationTimeoutMs, extra: Record<string, unknown> = {}): RemoteOperation =>
    remoteOperation(engine, name, operationTimeoutMs[name], { marker, runDir, ...extra });
  // The follow-up call waits on the host inside the run operation: its delay is added to that one's deadline.
  const lateMs = (spec.emulation.followUp?.after ?? 0) + (spec.emulation.followUp?.afterEnd ?? 0);
  const launch = (name: 'run-cmstp' | 'com-shellexec', extra: Record<string, unknown>): RemoteOperation =>
    remoteOperation(engine, name, spec.timeouts.execute + lateMs + launchSlackMs, {
      marker,
      runDir,
      ...extra,
    });
  // ICMLuaUtil.ShellExec(file, parameters) of a payload command: what the call is given.
  const shellExec = (payload: string) => {
    checkInfContext({ command: payload });
    const [file = '', ...rest] = payload.split(' ');
    return { file, parameters: rest.join(' ') };
  };
  const common = {
    marker,
    runDir,
    markerPath,
    payloadEvidence: evidenceOf(spec),
    followUp: null,
    operations: {
      secureFolder: op('secure-folder', { workingFolder }),
      preflight: op('preflight'),
      canary: op('canary', { canaryText: canaryText(marker) }),
      snapshot: op('snapshot'),
      // A crashed run's lock expires: the whole emulation's worst case plus ten minutes.
      lock: op('lock-host', {
        lockPath: targetLockPath,
        lockTtlSeconds: String(Math.ceil(spec.timeouts.execute / 1000) + 600),
      }),
      unlock: op('unlock-host', { lockPath: targetLockPath }),
      uninstall: op('uninstall-profile'),
      cleanup: (createdKeys: readonly string[]) => op('cleanup', { createdKeys: [...createdKeys] }),
    },
  };

  if (spec.emulation.com) {
    // ICMLuaUtil.ShellExec(file, parameters): nothing is staged, the elevated surrogate starts the command.
    if (command === undefined)
      throw new HarnessError('E_SCENARIO_INVALID', `[render] ${spec.id}: com needs a payload command`);
    const call = shellExec(command);
    return {
      ...common,
      payload: null,
      scriptlet: null,
      stagedScriptlet: null,
      servedInf: null,
      cmstpCommandLine: `ICMLuaUtil.ShellExec(${call.file}, ${call.parameters})`,
      operations: {
        ...common.operations,
        run: launch('com-shellexec', { ...call, markerPath, timeoutMs: String(spec.timeouts.execute) }),
      },
    };
  }
  const infSpec = spec.emulation.inf;
  const cmstpSpec = spec.emulation.cmstp;
  if (infSpec === undefined || cmstpSpec === undefined) {
    throw new HarnessError(
      'E_SCENARIO_INVALID',
      `[render] ${spec.id}: a cmstp emulation needs inf and cmstp`,
    );
  }
  const payloadPath = `${runDir}\\${marker}${infSpec.extension}`;

  let scriptlet: RenderedEmulation['scriptlet'] = null;
  let stagedScriptlet: RenderedEmulation['stagedScriptlet'] = null;
  let scriptletLocation: string | null = null;
  const sctSpec = spec.emulation.scriptlet;
  if (sctSpec) {
    const sctContext = { marker, ...(command === undefined ? {} : { payloadCommand: command }) };
    checkInfContext(sctContext);
    const content = renderWith(engine, sctSpec.template, sctContext).replace(/\r?\n/g, '\r\n');
    if (sctSpec.via === 'url') {
      scriptlet = served(spec, scriptletBase(spec, sctSpec.from, options), marker, `${marker}.sct`, content);
      scriptletLocation = scriptlet.url;
    } else {
      // Staged in the run folder, so clean-up removes it with the INF.
      const remotePath = `${runDir}\\${marker}-scriptlet.sct`;
      stagedScriptlet = { remotePath, content, sha256: sha256(content) };
      scriptletLocation = sctSpec.via === 'unc' ? adminSharePath(remotePath) : remotePath;
    }
  }

  const infContext = {
    marker,
    runDir,
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, String(v)])),
    ...(command === undefined ? {} : { payloadCommand: command }),
  };
  checkInfContext(infContext);
  // The share path's `$` (\\localhost\C$\) is the harness's own and starts no INF syntax; every other
  // character of the location passes the same check as any value.
  if (scriptletLocation !== null)
    checkInfValue('context.scriptletUrl', scriptletLocation.replace(/^(\\\\localhost\\[A-Z])\$\\/, '$1\\'));
  // INF files are read as ANSI text with CRLF line ends; SFTP writes bytes as given.
  const inf = renderWith(engine, infSpec.template, {
    ...infContext,
    ...(scriptletLocation === null ? {} : { scriptletUrl: scriptletLocation }),
  }).replace(/\r?\n/g, '\r\n');

  const servedInf =
    infSpec.via === 'url'
      ? served(spec, options.payloadBaseUrl, marker, `${marker}${infSpec.extension}`, inf)
      : null;
  // A path with a space (Program Files) is quoted, as the C runtime expects.
  const infLocation = infSpec.via === 'unc' ? adminSharePath(payloadPath) : payloadPath;
  const infArgument = servedInf?.url ?? (infLocation.includes(' ') ? `"${infLocation}"` : infLocation);
  const cmstpArguments = [...cmstpSpec.flags, infArgument].join(' ');
  // The follow-up writes a marker file of its own, so its call waits for its own command, not cmstp's.
  const lateMarkerPath = `${runDir}\\${marker}-late.txt`;
  const lateCommand = payloadCommand(spec.emulation.payload.action, marker, lateMarkerPath);
  const followUp =
    spec.emulation.followUp === undefined || lateCommand === undefined
      ? null
      : {
          afterMs: spec.emulation.followUp.after,
          afterEndMs: spec.emulation.followUp.afterEnd,
          markerPath: lateMarkerPath,
          call: shellExec(lateCommand),
        };
  return {
    ...common,
    followUp:
      followUp === null
        ? null
        : { afterMs: followUp.afterMs, afterEndMs: followUp.afterEndMs, markerPath: followUp.markerPath },
    payload: { remotePath: payloadPath, content: inf, sha256: sha256(inf) },
    scriptlet,
    stagedScriptlet,
    servedInf,
    cmstpCommandLine: `C:\\Windows\\System32\\cmstp.exe ${cmstpArguments}`,
    operations: {
      ...common.operations,
      // The target-side deadline is the scenario's; the client watchdog adds slack on top.
      run: launch('run-cmstp', {
        payloadPath,
        cmstpArguments,
        markerPath,
        timeoutMs: String(spec.timeouts.execute),
        followUp:
          followUp === null
            ? null
            : {
                ...followUp.call,
                afterMs: String(followUp.afterMs),
                afterEndMs: String(followUp.afterEndMs),
                markerPath: followUp.markerPath,
              },
      }),
    },
  };
}

/**
 * The snapshot and clean-up operations for one marker, without a scenario: what `purple-harness cleanup`
 * runs after an interrupted run, for each place a run folder can be.
 */
export function renderHousekeeping(marker: string): {
  places: {
    runDir: string;
    snapshot: RemoteOperation;
    uninstall: RemoteOperation;
    cleanup: RemoteOperation;
  }[];
  /** Releases the target-side host lock if the interrupted run still holds it. */
  unlock: RemoteOperation;
} {
  // Clean-up removes files, keys and processes whose names contain the marker: only the exact shape the
  // harness generates may be used, so a word like `system32` can never select Windows' own processes.
  if (!isMarker(marker)) {
    throw new HarnessError(
      'E_USAGE',
      `"${marker}" is not a purple-harness run marker: a marker is "ph" and 12 lower-case letters or digits`,
      {
        hint: 'Copy the marker from run.json (results[].marker) or the run folder name, e.g. ph0123456789ab.',
      },
    );
  }
  const engine = commandEngine();
  const op = (
    name: keyof typeof operationTimeoutMs,
    runDir: string,
    extra: Record<string, unknown> = {},
  ): RemoteOperation => remoteOperation(engine, name, operationTimeoutMs[name], { marker, runDir, ...extra });
  return {
    places: Object.values(remoteRoots).map((root) => {
      const runDir = `${root}\\${marker}`;
      // Which keys this run created is unknown after a crash, so no key is removed; they are reported.
      return {
        runDir,
        snapshot: op('snapshot', runDir),
        uninstall: op('uninstall-profile', runDir),
        cleanup: op('cleanup', runDir, { createdKeys: [] }),
      };
    }),
    unlock: op('unlock-host', '', { lockPath: targetLockPath }),
  };
}

/** The operations `lab smoke` adds to a scenario's own: a probe, the host's state, and its event logs. */
export interface SmokeOperations {
  /** Reports the language mode, edition and delivery; exits with `exitCode`, so a lost exit code shows. */
  probe(options: { readonly exitCode: number; readonly viaFile: boolean }): RemoteOperation;
  hostState: RemoteOperation;
  /** Makes the working folder administrators-only before anything is uploaded to it (the -File probe). */
  secureFolder: RemoteOperation;
  /** The host's Sysmon, Security and Application logs since `sinceUtc` (host clock), at most `maxEvents` each. */
  exportEvents(sinceUtc: string, maxEvents: number): RemoteOperation;
  preflight: RemoteOperation;
}

/** A comment line that makes the probe long enough to go by -File, as every over-long script does. */
const fileDeliveryPadding = `# padding: this copy of the probe is long enough to be sent with -File${' .'.repeat(30)}\n`;

export function renderSmokeOperations(marker: string): SmokeOperations {
  const engine = commandEngine();
  const op = (name: keyof typeof operationTimeoutMs, extra: Record<string, unknown> = {}): RemoteOperation =>
    remoteOperation(engine, name, operationTimeoutMs[name], { marker, ...extra });
  return {
    probe: ({ exitCode, viaFile }) => {
      const probe = op('probe', { exitCode: String(exitCode) });
      // cmd.exe's line holds about 3,000 characters of script once encoded; 60 lines of padding pass it.
      return viaFile ? { ...probe, script: probe.script + fileDeliveryPadding.repeat(60) } : probe;
    },
    hostState: op('host-state'),
    secureFolder: op('secure-folder', { workingFolder }),
    exportEvents: (sinceUtc, maxEvents) => op('export-events', { sinceUtc, maxEvents: String(maxEvents) }),
    preflight: op('preflight'),
  };
}

/**
 * Renders every scenario once before anything runs: a bad template or value stops the command with exit 2.
 * Here, not in the pipeline, so validate and plan load no transport or SIEM code (#18 start-up).
 */
export function preflightRender(scenarios: readonly LoadedScenario[]): void {
  for (const scenario of scenarios)
    renderEmulation(scenario, { marker: 'phvalidate0000', payloadBaseUrl: placeholderPayloadBase });
}
