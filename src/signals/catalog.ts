import type { SignalDefinition, SignalId } from '../core/index.js';

const cmstplua = '{3E5FC7F9-9A51-4367-9063-A120244FBEC7}';
const cmluautil = '{3E000D72-A845-4CD9-BD83-80C07C3B881F}';

/**
 * The AN0932 signal catalogue. Each signal is declared once with Sysmon (and Security 4688) field names;
 * every SIEM connector compiles it for its own store. Field choices follow cmstp-telemetry.md section 2.
 */
export const signalCatalog = {
  'cmstp-exec': {
    id: 'cmstp-exec',
    title: 'cmstp.exe started with a payload argument',
    description:
      'cmstp.exe starts with a command line that names the generated INF (Sysmon 1; Security 4688 where enabled).',
    requires: 'started',
    correlation: 'marker',
    telemetry: [
      {
        eventIds: [1],
        match: {
          Image: { op: 'endswith', value: '\\cmstp.exe' },
          CommandLine: { op: 'contains', value: '{{marker}}' },
        },
      },
      {
        eventIds: [4688],
        match: {
          NewProcessName: { op: 'endswith', value: '\\cmstp.exe' },
          CommandLine: { op: 'contains', value: '{{marker}}' },
        },
      },
    ],
  },
  'payload-file': {
    id: 'payload-file',
    title: 'Payload file created before cmstp.exe ran',
    description:
      'The INF (or SCT/DLL) the emulation passes to cmstp.exe is written to disk just before it runs (Sysmon 11).',
    requires: 'staged',
    correlation: 'marker',
    telemetry: [
      { eventIds: [11], match: { TargetFilename: { op: 'endswith', value: '\\{{payloadFile}}' } } },
    ],
  },
  'child-process': {
    id: 'child-process',
    title: "A process started by the INF's commands",
    description:
      'A process the INF (or its scriptlet) starts: the parent is cmstp.exe on the single-user path, or the CMSTPLUA DllHost.exe on the all-users (/au) path (Sysmon 1; Security 4688 where enabled).',
    requires: 'payload-ran',
    correlation: 'marker',
    telemetry: [
      // Single user: the parent's command line names the INF, so any child is tied to the run.
      {
        eventIds: [1],
        match: {
          ParentImage: { op: 'endswith', value: '\\cmstp.exe' },
          ParentCommandLine: { op: 'contains', value: '{{marker}}' },
        },
      },
      // All users: the parent is the COM surrogate, whose command line has no marker; its window ties it.
      {
        eventIds: [1],
        correlation: 'window',
        match: {
          ParentImage: { op: 'endswith', value: '\\dllhost.exe' },
          ParentCommandLine: { op: 'contains', value: `/Processid:${cmstplua}` },
        },
      },
      // Security 4688 has no parent command line; the child's own command line must name the marker.
      {
        eventIds: [4688],
        match: {
          ParentProcessName: { op: 'endswith', value: '\\cmstp.exe' },
          CommandLine: { op: 'contains', value: '{{marker}}' },
        },
      },
      // ...and on the all-users path its parent is the COM surrogate (ParentProcessName, Windows 10 and later).
      {
        eventIds: [4688],
        match: {
          ParentProcessName: { op: 'endswith', value: '\\dllhost.exe' },
          CommandLine: { op: 'contains', value: '{{marker}}' },
        },
      },
    ],
  },
  'remote-fetch': {
    id: 'remote-fetch',
    title: "cmstp.exe reaches the scriptlet's host",
    description:
      'cmstp.exe itself resolves and connects to the host serving the remote scriptlet (Sysmon 22 DNS query, Sysmon 3 network connection).',
    requires: 'started',
    correlation: 'window',
    telemetry: [
      // Keyed on the address and port: Sysmon fills DestinationHostname from a reverse lookup that may not
      // have finished (it is then empty), and for an IP-literal URL there is no name at all.
      {
        eventIds: [3],
        match: {
          Image: { op: 'endswith', value: '\\cmstp.exe' },
          DestinationIp: { op: 'equals', value: '{{payloadIp}}' },
          DestinationPort: { op: 'equals', value: '{{payloadPort}}' },
        },
      },
      {
        eventIds: [22],
        match: {
          Image: { op: 'endswith', value: '\\cmstp.exe' },
          QueryName: { op: 'equals', value: '{{payloadHost}}' },
        },
      },
    ],
  },
  'scriptlet-load': {
    id: 'scriptlet-load',
    title: 'scrobj.dll loaded into cmstp.exe',
    description:
      'The scriptlet runtime (scrobj.dll) is loaded by cmstp.exe to run an SCT named by UnRegisterOCXs/RegisterOCXs (Sysmon 7).',
    requires: 'started',
    correlation: 'window',
    telemetry: [
      {
        eventIds: [7],
        match: {
          Image: { op: 'endswith', value: '\\cmstp.exe' },
          ProcessId: { op: 'equals', value: '{{cmstpPid}}' },
          ImageLoaded: { op: 'endswith', value: '\\scrobj.dll' },
        },
      },
    ],
  },
  'com-elevation': {
    id: 'com-elevation',
    title: 'COM elevation through CMSTPLUA or CMLUAUTIL',
    description: `The auto-elevating Connection Manager COM objects (CMSTPLUA ${cmstplua}, CMLUAUTIL ${cmluautil}) at work: the DllHost.exe surrogate opens its child with cmlua.dll on the call stack (Sysmon 10) and loads cmlua.dll/cmstplua.dll (Sysmon 7).`,
    requires: 'started',
    correlation: 'window',
    telemetry: [
      {
        eventIds: [10],
        match: {
          SourceImage: { op: 'endswith', value: '\\dllhost.exe' },
          CallTrace: { op: 'contains', value: '\\cmlua.dll' },
        },
      },
      {
        eventIds: [7],
        match: {
          Image: { op: 'endswith', value: '\\dllhost.exe' },
          ImageLoaded: { op: 'endswith', value: '\\cmstplua.dll' },
        },
      },
      {
        eventIds: [7],
        match: {
          Image: { op: 'endswith', value: '\\dllhost.exe' },
          ImageLoaded: { op: 'endswith', value: '\\cmlua.dll' },
        },
      },
    ],
  },
  'profile-registry': {
    id: 'profile-registry',
    title: 'Registry writes that register the profile',
    description:
      'The install registers a Connection Manager profile: App Paths\\cmmgr32.exe and its ProfileInstallPath (all-users), or a Connection Manager mapping named after the profile (Sysmon 12/13).',
    requires: 'started',
    correlation: 'window',
    telemetry: [
      { eventIds: [12, 13], match: { TargetObject: { op: 'contains', value: '\\App Paths\\cmmgr32.exe' } } },
      {
        eventIds: [12, 13],
        match: {
          TargetObject: { op: 'contains', value: '\\Connection Manager\\' },
          Details: { op: 'contains', value: '{{marker}}' },
        },
      },
    ],
  },
} as const satisfies Record<SignalId, SignalDefinition>;
