import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Env } from '../../config/load.js';
import { openSiem, siemConfigSchema } from '../../siem/registry.js';
import { isSensorProfileName, sensorProfileNames } from '../../lab/sensor-profiles.js';
import { oneOf } from '../../util/did-you-mean.js';
import { simulatorInventoryYaml, startLabSimulator } from '../../lab/simulator.js';
import { HarnessError, realSleep, systemClock, newRunId } from '../../core/index.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

const passwordEnv = 'PURPLE_HARNESS_LAB_PASSWORD';
const tokenEnv = 'PURPLE_HARNESS_HEC_TOKEN';

/**
 * `lab up`: the embedded lab as long-lived services: the simulated Windows host behind its SSH server and
 * the local SIEM with its HEC endpoint, until Ctrl-C or SIGTERM. Writes a config (inventory with the pinned
 * host key, marked simulated; the local SIEM on the same database) for `run --config`, and keeps the
 * credentials in .env, never on the terminal.
 */
export async function labUpCommand(
  options: {
    readonly env: Env;
    readonly dir: string;
    readonly sshPort: number;
    readonly hecPort: number;
    readonly sensor: string | undefined;
    /** A PowerShell 7 to run the remote scripts in (the script-executing target); absent: the in-process model. */
    readonly pwsh: string | undefined;
    readonly secrets: Set<string>;
    readonly signal: AbortSignal;
  },
  output: Output,
): Promise<ExitCode> {
  if (options.sensor !== undefined) oneOf('--lab-sensor', options.sensor, sensorProfileNames);
  // Credentials: the ones already set, or new ones appended to .env (a file kept out of git).
  const env: Record<string, string | undefined> = { ...options.env };
  const added: string[] = [];
  for (const name of [passwordEnv, tokenEnv]) {
    if ((env[name] ?? '') !== '') continue;
    const value = randomBytes(18).toString('base64url');
    env[name] = value;
    added.push(`${name}=${value}`);
  }
  if (added.length > 0) {
    appendFileSync('.env', `${added.join('\n')}\n`);
    chmodSync('.env', 0o600);
  }
  const password = env[passwordEnv] ?? '';
  options.secrets.add(password);
  options.secrets.add(env[tokenEnv] ?? '');

  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const database = join(dir, 'local-siem.sqlite');
  const ctx = {
    runId: newRunId(systemClock.now()),
    clock: systemClock,
    sleep: realSleep,
    logger: output.logger,
    signal: options.signal,
    secrets: options.secrets,
    env,
  };
  const siem = await openSiem(
    siemConfigSchema().parse({ type: 'local', database, hec: { port: options.hecPort, tokenEnv } }),
    ctx,
  );
  const endpoint = siem.ingestEndpoint();
  if (endpoint === null) throw new HarnessError('E_LAB', 'the local SIEM did not start its HEC endpoint');
  const lab = await startLabSimulator({
    password,
    sink: endpoint,
    port: options.sshPort,
    dns: { 'payload.lab.test': '127.0.0.1' },
    ...(options.pwsh === undefined ? {} : { pwsh: options.pwsh }),
    ...(options.sensor !== undefined && isSensorProfileName(options.sensor)
      ? { sensorProfile: options.sensor }
      : {}),
  });
  const name = lab.computer.split('.')[0] ?? lab.computer;
  const config = join(dir, 'purple-harness.config.yaml');
  writeFileSync(
    config,
    [
      '# Written by purple-harness lab up: the embedded lab as services. Results from it are SIMULATED.',
      ...simulatorInventoryYaml(lab, { name, passwordEnv }),
      'siem:',
      '  type: local',
      `  database: ${database}`,
      '',
    ].join('\n'),
  );
  output.out('SIMULATED LAB: the embedded lab is up; what runs against it is reported as simulated.');
  output.out(
    `ssh:    ${lab.address}:${String(lab.port)}, user ${lab.username}, host key ${lab.hostKeySha256}; password in ${passwordEnv}`,
  );
  output.out(`hec:    ${endpoint.url} (Splunk HEC), token in ${tokenEnv}`);
  output.out(`siem:   ${database} (SQLite, our Sigma rules)`);
  if (added.length > 0) output.out(`.env:   added ${added.map((a) => a.split('=')[0] ?? '').join(', ')}`);
  output.out(`config: ${config}`);
  output.out(`try:    purple-harness run --config ${config}   (Ctrl-C here stops the lab)`);
  await new Promise<void>((done) => {
    if (options.signal.aborted) done();
    options.signal.addEventListener('abort', () => {
      done();
    });
  });
  await lab.close();
  await siem.dispose();
  output.out('lab stopped');
  return exitCodes.passed;
}
