import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import type { Env } from '../../config/load.js';
import type { HarnessConfig } from '../../config/schema.js';
import { signingKeyFrom, signingKeyEnv } from '../../config/signing-key.js';
import { errorMessage, isHarnessError, type LoadedScenario } from '../../core/index.js';
import { advertisedHostWarning, probeListen, requirePayloadServer } from './payload-checks.js';
import { redact } from '../../util/redact.js';
import { checkReportsWritable } from '../../report/write.js';
import { loadScenarios } from '../../scenario/load.js';
import { probeHostKey } from '../../executors/ssh/index.js';
import { scenarioPaths } from '../../config/defaults.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import {
  commandContext,
  createSiem,
  payloadServerSettings,
  siemSecretNames,
  siemSecretValues,
} from './run.js';

interface Check {
  readonly area: 'config' | 'environment' | 'connectivity' | 'siem';
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** How to put it right, when the check failed and there is one thing to do. */
  readonly fix?: string;
}

/**
 * The variables the SIEM config needs set: for Sentinel only those of the chosen credential (a token, or an
 * app registration's secret; the default chain and managed identity need none), for the others every one it
 * names.
 */
function requiredSecretNames(siem: HarnessConfig['siem']): string[] {
  if (siem === undefined) return [];
  if (siem.type !== 'sentinel') return siemSecretNames(siem);
  switch (siem.credential) {
    case 'token':
      return [siem.tokenEnv, ...(siem.closeIncidents === undefined ? [] : [siem.armTokenEnv])];
    case 'client-secret':
      return [siem.tenantIdEnv, siem.clientIdEnv, siem.clientSecretEnv];
    case 'default':
    case 'managed-identity':
    case 'azure-cli':
      return [];
  }
}

/**
 * The SIEM connector's own requirement checks, with the config's credentials (redacted from any message). A
 * SIEM that cannot be asked (refused credentials, down) is a connectivity problem, not a requirement one.
 */
async function siemRequirements(
  siem: NonNullable<HarnessConfig['siem']>,
  env: Env,
  output: Output,
): Promise<Check[]> {
  const secrets = new Set(siemSecretValues(siem, env));
  const ctx = { ...commandContext(new Date(), output, new AbortController().signal, secrets), env };
  let connector;
  try {
    connector = await createSiem(siem, null, ctx);
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

/**
 * `doctor`: checks the config, the scenarios, every environment variable the config names (set or not,
 * never the value), the reports folder, and that each lab host and the SIEM answer, including each host's
 * SSH key against its pin. With the SIEM's credentials it then runs the connector's read-only requirement
 * checks (what its queries rely on: a workspace function, a rendering, a field type); it executes nothing
 * on any host. Exit 0 all good, 2 a config, environment or SIEM requirement problem, 3 a connectivity problem.
 */
export async function doctorCommand(
  options: {
    readonly config: HarnessConfig;
    readonly configFile: string | null;
    readonly env: Env;
    readonly paths: readonly string[];
    readonly includeBuiltin?: boolean;
    readonly reportsDir: string;
    readonly json: boolean;
    readonly timeoutMs?: number;
  },
  output: Output,
): Promise<ExitCode> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const checks: Check[] = [];
  const add = (area: Check['area'], name: string, ok: boolean, detail: string): void => {
    checks.push({ area, name, ok, detail });
  };
  const { config, env } = options;

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

  await checkPayloadServer(config, scenarios.scenarios, add);

  const hosts = config.lab?.hosts ?? [];
  const names = new Set<string>(requiredSecretNames(config.siem));
  for (const host of hosts) {
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

  for (const host of hosts) {
    try {
      const presented = await probeHostKey(host.address, host.port, timeoutMs);
      const pinned = host.hostKeySha256;
      add(
        'connectivity',
        `${host.name} ssh`,
        pinned === undefined || pinned === presented,
        pinned === undefined
          ? `answers on ${host.address}:${String(host.port)}, key ${presented} (not pinned: pin it)`
          : pinned === presented
            ? `answers on ${host.address}:${String(host.port)}, host key matches its pin`
            : `host key ${presented} is not the pinned ${pinned}`,
      );
    } catch (error) {
      add(
        'connectivity',
        `${host.name} ssh`,
        false,
        `${host.address}:${String(host.port)}: ${errorMessage(error)}`,
      );
    }
  }
  const endpoint = siemEndpoint(config.siem);
  if (endpoint !== null) {
    const problem = await tcpReachable(endpoint.host, endpoint.port, timeoutMs);
    add(
      'connectivity',
      `siem ${config.siem?.type ?? ''}`,
      problem === null,
      problem ?? `answers on ${endpoint.host}:${String(endpoint.port)}`,
    );
  }

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
