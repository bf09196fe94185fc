import { HarnessError, type HostTarget, type Logger, type SiemConnector } from '../core/index.js';
import { sensorProfiles, type SensorProfileName } from '../lab/sensor-profiles.js';
import { simulatorTarget, startLabSimulator, type LabSimulator } from '../lab/simulator.js';
import type { PayloadServer } from '../payload-server/server.js';

export interface EmbeddedLabOptions {
  /** The SSH password made for this run (a secret like any other). */
  readonly password: string;
  /** --lab-drop: signals whose events the simulated host does not send. */
  readonly dropSignals: readonly string[];
  readonly sensorProfile: SensorProfileName | undefined;
}

/**
 * The embedded lab: the simulated Windows host behind a real SSH server, feeding the configured SIEM the way
 * its real pipeline would, and resolving the payload server's name to loopback as lab DNS would.
 */
export async function startEmbeddedLab(
  siem: SiemConnector,
  payloadServer: PayloadServer | null,
  options: EmbeddedLabOptions,
  logger: Logger,
): Promise<{ lab: LabSimulator; host: HostTarget }> {
  const sink = siem.ingestEndpoint();
  if (!sink)
    throw new HarnessError('E_LAB', `the embedded lab cannot send events to the ${siem.id} SIEM`, {
      hint: 'Configure a lab (lab.hosts) whose own forwarder feeds that SIEM, or use a SIEM the simulator can feed (docs/connectors/).',
    });
  const lab = await startLabSimulator({
    password: options.password,
    sink,
    dropSignals: options.dropSignals,
    dns: payloadServer ? { [payloadServer.advertisedHost]: '127.0.0.1' } : {},
    ...(options.sensorProfile !== undefined ? { sensorProfile: options.sensorProfile } : {}),
  });
  logger.info(
    `embedded lab: sensor profile ${lab.sensorProfile}: ${sensorProfiles[lab.sensorProfile].description}`,
  );
  logger.info(
    `embedded lab: SIMULATED Windows host ${lab.computer} on ${lab.address}:${lab.port} (host key ${lab.hostKeySha256})`,
  );
  if (options.dropSignals.length > 0)
    logger.info(`embedded lab: dropping events for ${options.dropSignals.join(', ')}`);
  return { lab, host: simulatorTarget(lab, options.password, lab.computer.split('.')[0] ?? lab.computer) };
}
