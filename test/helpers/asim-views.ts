import { ingestionTime, type KqlRow } from './kql-eval.js';

/**
 * What Microsoft's ASIM parsers return for Sysmon events, row by row, so the Sentinel fake answers the
 * connector's ASIM legs as a workspace would. Each view follows the Sysmon source parser of its schema in the
 * Azure-Sentinel repository (Parsers/ASim<Schema>/Parsers), including the parts a query can trip on:
 * - ASimProcessCreateMicrosoftSysmon: Image -> TargetProcessName, ParentImage -> ActingProcessName, the ids
 *   as strings, Computer -> DvcHostname and the alias Dvc.
 * - ASimNetworkSessionMicrosoftSysmon: an outbound connection (Initiated) puts the process in
 *   DstProcessName/DstProcessId and an inbound one in SrcProcessName/SrcProcessId; Dvc is the Computer but
 *   DvcHostname is the remote host's name; DstPortNumber is an int; EventOriginalType is '3'.
 * - ASimFileEventMicrosoftSysmon: TargetFilename -> TargetFilePath, Image -> ActingProcessName.
 * - ASimRegistryEventMicrosoftSysmon: the hive is spelt out (HKLM -> HKEY_LOCAL_MACHINE, HKU -> HKEY_USERS,
 *   HKCR -> HKEY_LOCAL_MACHINE\Classes), a value set or delete splits TargetObject into RegistryKey and
 *   RegistryValue, Details -> RegistryValueData for a value set only, and DvcHostName is projected away
 *   (only Dvc is left).
 * Every view sets EventProduct 'Sysmon' and EventOriginalType to the event id, and keeps TimeGenerated.
 * The unifying parser returns other sources too: imProcessCreate also reads SecurityEvent 4688
 * (ASimProcessCreateMicrosoftSecurityEvents: EventProduct 'Security Events', NewProcessName ->
 * TargetProcessName, ParentProcessName -> ActingProcessName, the hex ids as they are).
 */
export type AsimView = (tables: {
  readonly sysmon: readonly KqlRow[];
  readonly securityEvent: readonly KqlRow[];
}) => KqlRow[];

const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

const common = (row: KqlRow) => ({
  // The Event table's hidden ingestion time (what ingestion_time() reads); the parsers' own projections are
  // not modelled.
  [ingestionTime]: row[ingestionTime],
  TimeGenerated: row.TimeGenerated,
  Type: row.Type,
  EventProduct: 'Sysmon',
  EventVendor: 'Microsoft',
  EventOriginalType: text(row.EventID),
  Dvc: row.Computer,
});

const ofIds = (rows: readonly KqlRow[], ids: readonly number[]) =>
  rows.filter((row) => ids.includes(Number(row.EventID)));

const processCreate: AsimView = ({ sysmon, securityEvent }) => [
  ...ofIds(sysmon, [1]).map((row) => ({
    ...common(row),
    EventType: 'ProcessCreated',
    DvcHostname: row.Computer,
    TargetProcessName: text(row.Image),
    TargetProcessCommandLine: text(row.CommandLine),
    TargetProcessId: text(row.ProcessId),
    TargetProcessGuid: text(row.ProcessGuid),
    TargetProcessIntegrityLevel: text(row.IntegrityLevel),
    TargetUsername: text(row.User),
    ActingProcessName: text(row.ParentImage),
    ActingProcessCommandLine: text(row.ParentCommandLine),
    ActingProcessId: text(row.ParentProcessId),
    ActingProcessGuid: text(row.ParentProcessGuid),
  })),
  ...ofIds(securityEvent, [4688]).map((row) => ({
    ...common(row),
    EventProduct: 'Security Events',
    EventType: 'ProcessCreated',
    DvcHostname: row.Computer,
    TargetProcessName: text(row.NewProcessName),
    TargetProcessCommandLine: text(row.CommandLine),
    TargetProcessId: text(row.NewProcessId),
    ActingProcessName: text(row.ParentProcessName),
    ActingProcessId: text(row.ProcessId),
  })),
];

const networkSession: AsimView = ({ sysmon }) =>
  ofIds(sysmon, [3]).map((row) => {
    const outbound = text(row.Initiated).toLowerCase() === 'true';
    const port = Number.parseInt(text(row.DestinationPort), 10);
    const hostname = (name: unknown) => (text(name) === '-' ? '' : text(name));
    return {
      ...common(row),
      EventOriginalType: '3',
      EventType: 'EndpointNetworkSession',
      DvcHostname: outbound ? hostname(row.DestinationHostname) : hostname(row.SourceHostname),
      SrcProcessName: outbound ? '' : text(row.Image),
      SrcProcessId: outbound ? '' : text(row.ProcessId),
      DstProcessName: outbound ? text(row.Image) : '',
      DstProcessId: outbound ? text(row.ProcessId) : '',
      SrcIpAddr: text(row.SourceIp),
      DstIpAddr: text(row.DestinationIp),
      DstPortNumber: Number.isNaN(port) ? null : port,
      DstHostname: hostname(row.DestinationHostname),
    };
  });

const fileEvent: AsimView = ({ sysmon }) =>
  ofIds(sysmon, [11, 23, 26]).map((row) => ({
    ...common(row),
    EventType: Number(row.EventID) === 11 ? 'FileCreated' : 'FileDeleted',
    DvcHostname: row.Computer,
    TargetFilePath: text(row.TargetFilename),
    ActingProcessName: text(row.Image),
    ActingProcessId: text(row.ProcessId),
    ActorUsername: text(row.User),
  }));

const hives: Readonly<Record<string, string>> = {
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKU: 'HKEY_USERS',
  HKCR: 'HKEY_LOCAL_MACHINE\\Classes',
};
const registryTypes: Readonly<Record<string, string>> = {
  CreateKey: 'RegistryKeyCreated',
  DeleteKey: 'RegistryKeyDeleted',
  DeleteValue: 'RegistryValueDeleted',
  SetValue: 'RegistryValueSet',
  RenameKey: 'RegistryKeyRenamed',
};

const registryEvent: AsimView = ({ sysmon }) =>
  ofIds(sysmon, [12, 13, 14]).map((row) => {
    const target = text(row.TargetObject);
    const [prefix = '', ...rest] = target.split('\\');
    const key = `${hives[prefix] ?? ''}\\${rest.join('\\')}`;
    const eventType = registryTypes[text(row.EventType)] ?? '';
    const onValue = eventType === 'RegistryValueSet' || eventType === 'RegistryValueDeleted';
    const split = /^(.+)\\(.+)$/.exec(key);
    return {
      ...common(row),
      EventType: eventType,
      RegistryKey: onValue ? (split?.[1] ?? '') : key,
      RegistryValue: onValue ? (split?.[2] ?? '') : '',
      RegistryValueData: eventType === 'RegistryValueSet' ? text(row.Details) : '',
      ActingProcessName: text(row.Image),
      ActingProcessId: text(row.ProcessId),
    };
  });

/** Each ASIM unifying parser, by its built-in name, and the view it returns (sentinel-workspace.ts names its
 * deployed twin). */
export const asimViews: Readonly<Record<string, AsimView>> = {
  _Im_ProcessCreate: processCreate,
  _Im_NetworkSession: networkSession,
  _Im_FileEvent: fileEvent,
  _Im_RegistryEvent: registryEvent,
};
