import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import type { Env } from '../../config/load.js';
import type { HarnessConfig } from '../../config/schema.js';
import { signingKeyFrom, signingKeyEnv } from '../../config/signing-key.js';
import { errorMessage, isHarnessError, type LoadedScenario } from '../../core/index.js';
import {
  advertisedHostWarning,
  payloadServerSettings,
  probeListen,
  requirePayloadServer,
} from '../../setup/payload.js';
import { commandContext } from '../../setup/context.js';
import { openSiem, type SiemConfig } from '../../siem/registry.js';
import { requiredSiemEnv, siemSecretValues } from '../../setup/siem.js';
import { redact } from '../../util/redact.js';
import { checkReportsWritable } from '../../report/write.js';
import { loadScenarios } from '../../scenario/load.js';
import { probeHostKey } from '../../executors/ssh/executor.js';
import { scenarioPaths } from '../../config/defaults.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

interface Check {
  readonly area: 'config' | 'environment' | 'connectivity' | 'siem';
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** How to put it right, when the check failed and there is one thing to do. */
  readonly fix?: string;
}

/** The variables the SIEM config needs set: the connector's own rule (doctor asks it), none with no SIEM. */
function requiredSecretNames(siem: SiemConfig | undefined): string[] {
  return siem === undefined ? [] : requiredSiemEnv(siem);
}

/**
 * The SIEM connector's own requirement checks, with the config's credentials (redacted from any message). A
 * SIEM that cannot be asked (refused credentials, down) is a connectivity problem, not a requirement one.
 */
async function siemRequirements(siem: SiemConfig, env: Env, output: Output): Promise<Check[]> {
  const secrets = new Set(siemSecretValues(siem, env));
  const ctx = { ...commandContext(new Date(), output, new AbortController().signal, secrets), env };
  let connector;
  try {
    connector = await openSiem(siem, ctx);
    if (connector.checkRequirements === undefined) return [];
    const found = await connector.checkRequirements();
    return found.map((r) => ({
      area: 'siem' as const,
      name: `${siem.type} ${r.name}`,
      ok: r.ok,
      detail: redact(r.detail, secrets),
      ...(r.ok || r.fix === null ? {} : { fix: r.fix }),
    }));
  } catch (error) {
    return [
      {
        area: 'connectivity',
        name: `siem ${siem.type} requirements`,
        ok: false,
        detail: `could not check what the queries need: ${redact(errorMessage(error), secrets)}`,
      },
    ];
  } finally {
    await connector?.dispose();
  }
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      done(null);
    });
    socket.on('timeout', () => {
      socket.destroy();
      done(`no answer within ${String(timeoutMs / 1000)} s`);
    });
    socket.on('error', (error) => {
      done(errorMessage(error));
    });
  });
}

/** The SIEM's address, for the connectors that talk HTTP to one. */
function siemEndpoint(siem: HarnessConfig['siem']): { host: string; port: number } | null {
  if (siem === undefined || !('url' in siem) || typeof siem.url !== 'string') return null;
  const url = new URL(siem.url);
  return { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

/**
 * The payload server as `run` will use it: a real lab whose scenarios serve files needs one configured, its
 * advertised name should be one the hosts resolve, and it must be able to listen where the config says.
 */
async function checkPayloadServer(
  config: HarnessConfig,
  scenarios: readonly LoadedScenario[],
  add: (area: Check['area'], name: string, ok: boolean, detail: string) => void,
): Promise<void> {
  try {
    requirePayloadServer(config, scenarios);
  } catch (error) {
    add(
      'config',
      'payload server',
      false,
      `${errorMessage(error)}. ${isHarnessError(error) ? (error.hint ?? '') : ''}`,
    );
    return;
  }
  const { bind, port } = payloadServerSettings(config);
  const problem = await probeListen(bind, port);
  const warning = advertisedHostWarning(config, scenarios);
  add(
    'config',
    'payload server',
    problem === null,
    problem === null
      ? `can listen on ${bind}:${String(port)}${warning === null ? '' : `; note: ${warning}`}`
      : `${problem.message}. ${problem.hint ?? ''}`,
  );
}

type Add = (area: Check['area'], name: string, ok: boolean, detail: string) => void;

interface DoctorOptions {
  readonly config: HarnessConfig;
  readonly configFile: string | null;
  readonly env: Env;
  readonly paths: readonly string[];
  readonly includeBuiltin?: boolean;
  readonly reportsDir: string;
  readonly json: boolean;
  readonly timeoutMs?: number;
}

/** Node, the config, the scenarios and the reports folder. */
function checkInputs(options: DoctorOptions, add: Add): readonly LoadedScenario[] {
  add(
    'config',
    'node',
    Number(process.versions.node.split('.')[0]) >= 20,
    `Node.js ${process.versions.node}`,
  );
  add('config', 'config', true, options.configFile ?? 'none: the embedded lab and local SIEM');
  const scenarios = loadScenarios(scenarioPaths(options.paths, options.config, options.includeBuiltin));
  add(
    'config',
    'scenarios',
    scenarios.issues.length === 0,
    scenarios.issues.length === 0
      ? `${String(scenarios.scenarios.length)} valid`
      : `${String(scenarios.issues.length)} problem(s); run validate to see them`,
  );
  try {
    const dir = resolve(options.reportsDir);
    checkReportsWritable(dir);
    add('config', 'reports', true, `${dir} is writable`);
  } catch (error) {
    add('config', 'reports', false, errorMessage(error));
  }
  return scenarios.scenarios;
}

/** Every variable the config names, set or not (never its value), key files, and the signing key. */
function checkEnvironment(config: HarnessConfig, env: Env, add: Add): void {
  const names = new Set<string>(requiredSecretNames(config.siem));
  for (const host of config.lab?.hosts ?? []) {
    for (const name of [host.passwordEnv, host.privateKeyEnv, host.passphraseEnv])
      if (name !== undefined) names.add(name);
    if (host.privateKeyFile !== undefined)
      add('environment', `${host.name} key file`, existsSync(host.privateKeyFile), host.privateKeyFile);
  }
  if (config.notify) names.add(config.notify.urlEnv);
  for (const name of [...names].sort()) {
    const set = (env[name] ?? '') !== '';
    add('environment', name, set, set ? 'set' : 'not set (in the environment or .env)');
  }
  try {
    const key = signingKeyFrom(env, new Set());
    add(
      'environment',
      signingKeyEnv,
      true,
      key === null ? 'not set: evidence is hashed and chained, not signed' : 'an Ed25519 key',
    );
  } catch (error) {
    add('environment', signingKeyEnv, false, errorMessage(error));
  }
}

/** Each lab host answers SSH with its pinned key, and the SIEM's port answers; nothing authenticates. */
async function checkConnectivity(config: HarnessConfig, timeoutMs: number, add: Add): Promise<void> {
  for (const host of config.lab?.hosts ?? []) {
    const where = `${host.address}:${String(host.port)}`;
    try {
      const presented = await probeHostKey(host.address, host.port, timeoutMs);
      const pinned = host.hostKeySha256;
      add(
        'connectivity',
        `${host.name} ssh`,
        pinned === undefined || pinned === presented,
        pinned === undefined
          ? `answers on ${where}, key ${presented} (not pinned: pin it)`
          : pinned === presented
            ? `answers on ${where}, host key matches its pin`
            : `host key ${presented} is not the pinned ${pinned}`,
      );
    } catch (error) {
      add('connectivity', `${host.name} ssh`, false, `${where}: ${errorMessage(error)}`);
    }
  }
  const endpoint = siemEndpoint(config.siem);
  if (endpoint === null) return;
  const problem = await tcpReachable(endpoint.host, endpoint.port, timeoutMs);
  add(
    'connectivity',
    `siem ${config.siem?.type ?? ''}`,
    problem === null,
    problem ?? `answers on ${endpoint.host}:${String(endpoint.port)}`,
  );
}

/**
 * `doctor`: checks the config, the scenarios, every environment variable the config names (set or not,
 * never the value), the reports folder, and that each lab host and the SIEM answer, including each host's
 * SSH key against its pin. With the SIEM's credentials it then runs the connector's read-only requirement
 * checks (what its queries rely on: a workspace function, a rendering, a field type); it executes nothing
 * on any host. Exit 0 all good, 2 a config, environment or SIEM requirement problem, 3 a connectivity problem.
 */
export async function doctorCommand(options: DoctorOptions, output: Output): Promise<ExitCode> {
  const checks: Check[] = [];
  const add: Add = (area, name, ok, detail) => {
    checks.push({ area, name, ok, detail });
  };
  const { config, env } = options;
  const scenarios = checkInputs(options, add);
  await checkPayloadServer(config, scenarios, add);
  checkEnvironment(config, env, add);
  await checkConnectivity(config, options.timeoutMs ?? 5000, add);
  // Asked only when it can answer: its credentials are set and it was reachable.
  const siemReady =
    requiredSecretNames(config.siem).every((name) => (env[name] ?? '') !== '') &&
    !checks.some((c) => c.area === 'connectivity' && c.name.startsWith('siem ') && !c.ok);
  if (config.siem !== undefined && config.siem.type !== 'local' && siemReady)
    checks.push(...(await siemRequirements(config.siem, env, output)));

  if (options.json) output.out(JSON.stringify({ checks }, null, 2));
  else
    for (const c of checks)
      output.out(
        `${c.ok ? 'ok  ' : 'FAIL'}  ${c.area.padEnd(12)} ${c.name}: ${c.detail}${c.fix === undefined ? '' : `\n${' '.repeat(19)}fix: ${c.fix}`}`,
      );
  const failed = (area: Check['area']): boolean => checks.some((c) => c.area === area && !c.ok);
  if (failed('config') || failed('environment') || failed('siem')) return exitCodes.invalidInput;
  if (failed('connectivity')) return exitCodes.infrastructure;
  return exitCodes.passed;
}
