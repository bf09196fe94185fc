import type { SignalDefinition, SignalId } from '../core/index.js';

/**
 * The AN0932 signal catalogue. Each signal is declared once with Sysmon field names; every SIEM
 * connector compiles it for its own store. Values are correlated by the run marker, which the harness
 * places in the payload file name and in the profile's ServiceName/ShortSvcName.
 */
export const signalCatalog = {
  'payload-file': {
    id: 'payload-file',
    title: 'Payload file created before cmstp.exe ran',
    description:
      'The INF (or SCT/DLL) the emulation passes to cmstp.exe is written to disk just before it runs (Sysmon 11).',
    requires: 'staged',
    telemetry: {
      eventIds: [11],
      match: { TargetFilename: { op: 'endswith', value: '\\{{payloadFile}}' } },
    },
  },
  'cmstp-exec': {
    id: 'cmstp-exec',
    title: 'cmstp.exe started with a payload argument',
    description: 'cmstp.exe starts with a command line that names the generated INF (Sysmon 1).',
    requires: 'started',
    telemetry: {
      eventIds: [1],
      match: {
        Image: { op: 'endswith', value: '\\cmstp.exe' },
        CommandLine: { op: 'contains', value: '{{marker}}' },
      },
    },
  },
  'child-process': {
    id: 'child-process',
    title: "A process started by the INF's commands",
    description:
      'RunPreSetupCommands starts a process whose parent is cmstp.exe (single-user path), recorded by Sysmon 1.',
    requires: 'payload-ran',
    telemetry: {
      eventIds: [1],
      match: {
        ParentImage: { op: 'endswith', value: '\\cmstp.exe' },
        ParentCommandLine: { op: 'contains', value: '{{marker}}' },
      },
    },
  },
} as const satisfies Partial<Record<SignalId, SignalDefinition>>;

const byId: ReadonlyMap<SignalId, SignalDefinition> = new Map(
  Object.values(signalCatalog).map((definition): [SignalId, SignalDefinition] => [definition.id, definition]),
);

export function signalDefinition(id: SignalId): SignalDefinition | undefined {
  return byId.get(id);
}

export function definedSignalIds(): readonly SignalId[] {
  return [...byId.keys()];
}
