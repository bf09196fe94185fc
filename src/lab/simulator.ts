import { HecShipper, type HecTarget, type ShipperStats } from './hec-shipper.js';
import { startSshServer } from './ssh-server.js';
import type { Behaviour } from './sysmon.js';
import { SimulatedWindowsHost } from './windows-host.js';

export interface LabSimulatorOptions {
  readonly computer?: string;
  readonly username?: string;
  readonly password: string;
  readonly authorizedKey?: string;
  /** Where the simulated host's Sysmon forwarder sends events. */
  readonly hec: HecTarget;
  /** Fault knob: events recording these AN0932 signals are never shipped. */
  readonly dropSignals?: readonly string[];
  readonly ingestDelayMs?: number;
  /** Fault knob: these remote operations hang (accepted, never answered). */
  readonly hangOperations?: readonly string[];
}

export interface LabSimulator {
  readonly address: string;
  readonly port: number;
  readonly hostKeySha256: string;
  readonly computer: string;
  readonly username: string;
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
  const drop = new Set(options.dropSignals ?? []);
  const dropped = new Map<Behaviour, number>();
  const shipper = new HecShipper(
    options.hec,
    options.ingestDelayMs === undefined ? {} : { ingestDelayMs: options.ingestDelayMs },
  );
  const host = new SimulatedWindowsHost({
    computer,
    username,
    emit: (event) => {
      if (drop.has(event.behaviour)) {
        dropped.set(event.behaviour, (dropped.get(event.behaviour) ?? 0) + 1);
        return;
      }
      shipper.ship(event);
    },
  });
  const ssh = await startSshServer({
    host,
    username,
    password: options.password,
    ...(options.authorizedKey === undefined ? {} : { authorizedKey: options.authorizedKey }),
    ...(options.hangOperations === undefined ? {} : { hangOperations: options.hangOperations }),
  });
  return {
    address: '127.0.0.1',
    port: ssh.port,
    hostKeySha256: ssh.hostKeySha256,
    computer,
    username,
    host,
    shipping: shipper.stats,
    dropped,
    flush: () => shipper.drain(),
    close: async () => {
      await ssh.close();
      await shipper.drain();
    },
  };
}
