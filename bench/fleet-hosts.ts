/**
 * The simulated hosts of a bench fleet, in a worker thread of their own: on a real fleet every host is
 * its own machine, so their SSH servers, Windows models and forwarders must not share the harness's
 * thread. Started by harness-bench.ts with the SIEM's ingest endpoint; it answers with each host's SSH
 * target and closes them all when told.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { HostTarget, IngestEndpoint } from '../src/core/index.js';
import { simulatorTarget, startLabSimulator, type LabSimulator } from '../src/lab/simulator.js';

/** What the bench hands the worker. */
export interface FleetHostsData {
  readonly hosts: number;
  readonly ingestDelayMs: number;
  readonly sink: IngestEndpoint;
  readonly dns: Readonly<Record<string, string>>;
}

/** What the worker answers: every host's target, or why it could not start them. */
export type FleetHostsReply = { readonly targets: HostTarget[] } | { readonly error: string };

const data = workerData as FleetHostsData;
const port = parentPort;
if (port === null) throw new Error('fleet-hosts.js runs as a worker thread');
const labs: LabSimulator[] = [];
try {
  const targets: HostTarget[] = [];
  for (let i = 0; i < data.hosts; i += 1) {
    const password = randomBytes(12).toString('hex');
    const computer = `WIN10-LAB-${String(i + 1).padStart(3, '0')}`;
    const lab = await startLabSimulator({
      password,
      sink: data.sink,
      computer: `${computer}.lab.local`,
      dns: data.dns,
      ingestDelayMs: data.ingestDelayMs,
    });
    labs.push(lab);
    targets.push(simulatorTarget(lab, password, computer));
  }
  port.postMessage({ targets } satisfies FleetHostsReply);
} catch (error) {
  port.postMessage({ error: String(error) } satisfies FleetHostsReply);
}
port.once('message', () => {
  void Promise.all(labs.map((lab) => lab.close())).then(() => {
    port.postMessage('closed');
  });
});
