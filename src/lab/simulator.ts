import type { HostTarget } from '../core/index.js';
import { httpGet } from './http-get.js';
import { LabShipper, type HecTarget, type LabSink, type ShipperStats } from './shipper.js';
import { sensorProfiles, type SensorProfileName } from './sensor-profiles.js';
import { scriptLabDrive, startScriptLab, type ScriptLab } from './script-lab.js';
import { startSshServer } from './ssh-server.js';
import type { Behaviour } from './sysmon.js';
import { runOperation } from './operations.js';
import {
  SimulatedWindowsHost,
  type CmstpKnobs,
  type OperationCall,
  type OperationRunner,
} from './windows-host.js';

export interface LabSimulatorOptions {
  readonly computer?: string;
  readonly username?: string;
  readonly password: string;
  readonly authorizedKey?: string;
  /** The SSH server's loopback port; 0 or absent: any free one. */
  readonly port?: number;
  /** The local SIEM's HEC endpoint, where the simulated host's forwarder sends events... */
  readonly hec?: HecTarget;
  /** ...or another sink: a real Splunk's HEC or Elasticsearch's _bulk (lab/shipper.ts). */
  readonly sink?: LabSink;
  /** Which Sysmon/4688 configuration the host runs (default `full`). */
  readonly sensorProfile?: SensorProfileName;
  /** The host's name resolution: hostname -> IPv4 address (the payload server's name, for example). */
  readonly dns?: Readonly<Record<string, string>>;
  /** Fault knob: the log forwarder is down, so nothing the host records reaches the SIEM. */
  readonly forwarderDown?: boolean;
  /** Fault knob: the host's answer when preflight reads its clock (e.g. a string that does not parse). */
  readonly clockReading?: string;
  /** Fault knob: events recording these AN0932 signals (or `canary`) are never shipped. */
  readonly dropSignals?: readonly string[];
  /** Fault knob: events recording these signals are held back this many ms before shipping. */
  readonly delaySignals?: Readonly<Record<string, number>>;
  /** Fault knob: these remote operations hang (accepted, never answered). */
  readonly hangOperations?: readonly string[];
  /** Fault knob: the SSH session drops in the middle of these operations, after the work but before any exit status. */
  readonly dropSessionOn?: readonly string[];
  /** Fault knob: these operations answer in full but never send an exit status. */
  readonly omitExitStatusOn?: readonly string[];
  /** Fault knob: these operations' output arrives a few bytes at a time. */
  readonly slowOutputOn?: readonly string[];
  /** Forwarder latency for every batch, plus up to `ingestJitterMs` at random. */
  readonly ingestDelayMs?: number;
  readonly ingestJitterMs?: number;
  /**
   * A PowerShell 7 to run the remote scripts in, for real (the script-executing target, lab/script-lab.ts);
   * absent: the model carries out each operation (lab/operations.ts), with no dependency.
   */
  readonly pwsh?: string;
  /**
   * With `pwsh`: only these operations run in PowerShell, and the model carries out the rest. For tests
   * that break one script at a time (test/pwsh/template-mutations.int.test.ts): the broken script still runs
   * for real, without paying a PowerShell start for every healthy step around it. Absent: every operation.
   */
  readonly scriptedOperations?: readonly string[];
  /** Fault knobs for cmstp itself: a non-zero install, an install that never exits, a failing `/u`. */
  readonly cmstp?: CmstpKnobs;
}

export interface LabSimulator {
  readonly address: string;
  readonly port: number;
  readonly hostKeySha256: string;
  readonly computer: string;
  readonly username: string;
  readonly sensorProfile: SensorProfileName;
  readonly host: SimulatedWindowsHost;
  readonly shipping: ShipperStats;
  readonly dropped: ReadonlyMap<Behaviour, number>;
  /** Waits until every event emitted so far has been posted. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The embedded lab: one simulated Windows host behind a real SSH server, shipping Sysmon events over HEC. */
export async function startLabSimulator(options: LabSimulatorOptions): Promise<LabSimulator> {
  const computer = options.computer ?? 'WIN10-LAB-01.lab.local';
  const username = options.username ?? 'labadmin';
  const sensorProfile = options.sensorProfile ?? 'full';
  const drop = new Set(options.dropSignals ?? []);
  const dropped = new Map<Behaviour, number>();
  const sink: LabSink | undefined =
    options.sink ??
    (options.hec ? { protocol: 'local-hec', url: options.hec.url, token: options.hec.token } : undefined);
  if (sink === undefined) throw new Error('the lab simulator needs hec or sink');
  const shipper = new LabShipper(sink, {
    ingestDelayMs: options.ingestDelayMs ?? 0,
    jitterMs: options.ingestJitterMs ?? 0,
  });
  const dns = new Map(Object.entries(options.dns ?? {}).map(([name, ip]) => [name.toLowerCase(), ip]));
  const drive = options.pwsh === undefined ? undefined : scriptLabDrive();
  const host = new SimulatedWindowsHost({
    ...(drive === undefined ? {} : { drive }),
    computer,
    username,
    sensor: sensorProfiles[sensorProfile],
    ...(options.clockReading === undefined ? {} : { clockReading: options.clockReading }),
    ...(options.cmstp === undefined ? {} : { cmstp: options.cmstp }),
    network: {
      resolve: (hostname) => dns.get(hostname.toLowerCase()) ?? null,
      // A real HTTP request, so the payload server records the fetch exactly as it would from a VM.
      fetch: (url, ip) =>
        httpGet({
          ip,
          port: Number(url.port || '80'),
          path: `${url.pathname}${url.search}`,
          host: url.host,
          userAgent: 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; Win64; x64; Trident/7.0)',
          timeoutMs: 10_000,
        }),
    },
    emit: (event) => {
      if (options.forwarderDown === true || drop.has(event.behaviour)) {
        dropped.set(event.behaviour, (dropped.get(event.behaviour) ?? 0) + 1);
        return;
      }
      shipper.ship(event, options.delaySignals?.[event.behaviour] ?? 0);
    },
  });
  const scripts: ScriptLab | null =
    drive === undefined || options.pwsh === undefined
      ? null
      : await startScriptLab(host, drive, options.pwsh);
  const scripted = options.scriptedOperations;
  const runner: ((call: OperationCall) => OperationRunner) | undefined =
    scripts === null
      ? undefined
      : scripted === undefined
        ? scripts.runner
        : (call) =>
            scripted.includes(call.operation)
              ? scripts.runner(call)
              : { run: (shell) => runOperation(host, call.operation, call.params, shell) };
  const ssh = await startSshServer({
    host,
    ...(runner === undefined ? {} : { runner }),
    username,
    password: options.password,
    ...(options.authorizedKey === undefined ? {} : { authorizedKey: options.authorizedKey }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.hangOperations === undefined ? {} : { hangOperations: options.hangOperations }),
    ...(options.dropSessionOn === undefined ? {} : { dropSessionOn: options.dropSessionOn }),
    ...(options.omitExitStatusOn === undefined ? {} : { omitExitStatusOn: options.omitExitStatusOn }),
    ...(options.slowOutputOn === undefined ? {} : { slowOutputOn: options.slowOutputOn }),
  });
  return {
    address: '127.0.0.1',
    port: ssh.port,
    hostKeySha256: ssh.hostKeySha256,
    computer,
    username,
    sensorProfile,
    host,
    shipping: shipper.stats,
    dropped,
    flush: () => shipper.drain(),
    close: async () => {
      await ssh.close();
      await scripts?.close();
      await shipper.drain({ discardHeld: true });
    },
  };
}

/** The simulator as an inventory host: what `lab up` writes into its config, and what tests point runs at. */
export function simulatorInventoryYaml(
  lab: Pick<LabSimulator, 'address' | 'port' | 'username' | 'hostKeySha256'>,
  options: { readonly name?: string; readonly passwordEnv: string },
): string[] {
  return [
    'lab:',
    '  hosts:',
    `    - name: ${options.name ?? 'WIN10-LAB-01'}`,
    `      address: ${lab.address}`,
    `      port: ${String(lab.port)}`,
    `      username: ${lab.username}`,
    `      hostKeySha256: "${lab.hostKeySha256}"`,
    `      passwordEnv: ${options.passwordEnv}`,
    '      lab: true',
    '      simulated: true',
  ];
}

/** The simulator as a run target, with the password it was started with. */
export function simulatorTarget(lab: LabSimulator, password: string, name = 'WIN10-LAB-01'): HostTarget {
  return {
    name,
    address: lab.address,
    port: lab.port,
    username: lab.username,
    hostKeySha256: lab.hostKeySha256,
    auth: { password },
    simulated: true,
  };
}
