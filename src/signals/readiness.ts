import type { Readiness, SensorFacts, SignalDefinition, TelemetryPattern } from '../core/index.js';

/** The Sysmon configuration's name for each event id (what `Sysmon64 -c` lists). */
const sysmonEventTypes: Readonly<Record<number, string>> = {
  1: 'ProcessCreate',
  3: 'NetworkConnect',
  7: 'ImageLoad',
  10: 'ProcessAccess',
  11: 'FileCreate',
  12: 'RegistryEvent',
  13: 'RegistryEvent',
  14: 'RegistryEvent',
  22: 'DnsQuery',
};

function patternReadiness(pattern: TelemetryPattern, sensors: SensorFacts): Readiness {
  if (pattern.eventIds.every((id) => id === 4688)) {
    if (sensors.security4688 === null) return 'unknown';
    const needsCommandLine = 'CommandLine' in pattern.match;
    return sensors.security4688 && (!needsCommandLine || sensors.security4688CommandLine) ? 'ready' : 'blind';
  }
  if (!sensors.sysmonRunning) return 'blind';
  if (sensors.sysmonEventTypes === null) return 'unknown';
  const configured = new Set(sensors.sysmonEventTypes.map((t) => t.toLowerCase()));
  return pattern.eventIds.some((id) => configured.has((sysmonEventTypes[id] ?? '').toLowerCase()))
    ? 'ready'
    : 'blind';
}

/**
 * Whether the host's sensors can record a signal at all: ready if any of its patterns' event types is
 * configured, blind if none is, unknown when preflight could not read the configuration. "Ready" means the
 * event type has rules, not that those rules match this event; the run itself is the proof.
 */
export function signalReadiness(definition: SignalDefinition, sensors: SensorFacts | null): Readiness {
  if (sensors === null) return 'unknown';
  const each = definition.telemetry.map((pattern) => patternReadiness(pattern, sensors));
  if (each.includes('ready')) return 'ready';
  return each.includes('unknown') ? 'unknown' : 'blind';
}
