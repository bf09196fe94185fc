import type { LabEvent } from './sysmon.js';

/**
 * What a host's sensors record. Public Sysmon baselines miss parts of AN0932 (cmstp-telemetry.md 2.1):
 * SwiftOnSecurity's config has no ImageLoad or ProcessAccess and does not log .inf creation; sysmon-modular
 * does not log the cmmgr32 App Paths key. Profiles let tests and demos show those blind spots.
 */
export interface SensorProfile {
  readonly description: string;
  /** The Sysmon event types the configuration has rules for, as `Sysmon64 -c` would list them. */
  readonly sysmonEventTypes: readonly string[];
  /** True for a Sysmon event the configuration filters out. */
  readonly excludes: (event: LabEvent) => boolean;
  /** Security 4688: off, on without command lines, or on with them (the audit policy plus the GPO). */
  readonly security4688: 'off' | 'no-command-line' | 'command-line';
}

const eventId = (event: LabEvent): number => Number(event.fields.EventID);
const text = (event: LabEvent, field: string): string => String(event.fields[field] ?? '').toLowerCase();
const isInfFile = (event: LabEvent): boolean =>
  eventId(event) === 11 && text(event, 'TargetFilename').endsWith('.inf');
const isCmmgr32 = (event: LabEvent): boolean =>
  [12, 13, 14].includes(eventId(event)) && text(event, 'TargetObject').includes('\\cmmgr32.exe');

/** Sysmon event types, as `Sysmon64 -c` names them. */
const allEventTypes = [
  'ProcessCreate',
  'NetworkConnect',
  'ImageLoad',
  'ProcessAccess',
  'FileCreate',
  'RegistryEvent',
  'DnsQuery',
];
const withoutAccessAndImageLoad = allEventTypes.filter((t) => t !== 'ImageLoad' && t !== 'ProcessAccess');

export const sensorProfiles = {
  full: {
    description: 'Sysmon logs every event AN0932 needs; Security 4688 with command lines',
    sysmonEventTypes: allEventTypes,
    excludes: () => false,
    security4688: 'command-line',
  },
  'no-access-imageload': {
    description: 'Sysmon without ProcessAccess (10) and ImageLoad (7), the default of most public configs',
    sysmonEventTypes: withoutAccessAndImageLoad,
    excludes: (event) => [7, 10].includes(eventId(event)),
    security4688: 'command-line',
  },
  'no-inf-files': {
    description: 'Sysmon FileCreate without .inf files',
    sysmonEventTypes: allEventTypes,
    excludes: isInfFile,
    security4688: 'command-line',
  },
  'no-cmmgr32-registry': {
    description: 'Sysmon RegistryEvent without App Paths\\cmmgr32.exe',
    sysmonEventTypes: allEventTypes,
    excludes: isCmmgr32,
    security4688: 'command-line',
  },
  'no-sysmon-process-create': {
    description:
      'Sysmon without ProcessCreate (1): process starts are seen only in Security 4688, with command lines',
    sysmonEventTypes: allEventTypes.filter((t) => t !== 'ProcessCreate'),
    excludes: (event) => eventId(event) === 1,
    security4688: 'command-line',
  },
  'sysmon-baseline': {
    description: 'A SwiftOnSecurity-like baseline: no 7, no 10, no .inf files; 4688 without command lines',
    sysmonEventTypes: withoutAccessAndImageLoad,
    excludes: (event) => [7, 10].includes(eventId(event)) || isInfFile(event),
    security4688: 'no-command-line',
  },
} as const satisfies Record<string, SensorProfile>;

export type SensorProfileName = keyof typeof sensorProfiles;

export const sensorProfileNames = Object.keys(sensorProfiles) as SensorProfileName[];

export function isSensorProfileName(name: string): name is SensorProfileName {
  return Object.hasOwn(sensorProfiles, name);
}
