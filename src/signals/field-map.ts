/**
 * The one place where field names meet: Sysmon/EventData names (our event model) and the same facts in
 * Elastic ECS, Microsoft Defender advanced hunting and Security 4688 (cmstp-telemetry.md 2.3).
 * `eventIds` limits a mapping to the events where the ECS field means this Sysmon field.
 */
export interface FieldMapping {
  readonly sysmon: string;
  readonly ecs: string;
  readonly defender?: string;
  readonly security4688?: string;
  readonly eventIds?: readonly number[];
  /**
   * The ECS field's mapping type when it is not a keyword: Elasticsearch refuses wildcard queries on `ip`
   * and `long` fields (HTTP 400), so those compile to `term` (ECS field reference: destination.ip is ip,
   * destination.port and process.pid are long).
   */
  readonly ecsType?: 'ip' | 'long';
}

export const fieldMap: readonly FieldMapping[] = [
  { sysmon: 'Computer', ecs: 'host.name', defender: 'DeviceName', security4688: 'Computer' },
  {
    sysmon: 'Image',
    ecs: 'process.executable',
    defender: 'FolderPath',
    security4688: 'NewProcessName',
    eventIds: [1, 3, 7, 11, 12, 13, 22, 4688],
  },
  {
    sysmon: 'CommandLine',
    ecs: 'process.command_line',
    defender: 'ProcessCommandLine',
    security4688: 'CommandLine',
  },
  {
    sysmon: 'ParentImage',
    ecs: 'process.parent.executable',
    defender: 'InitiatingProcessFolderPath',
    security4688: 'ParentProcessName',
  },
  {
    sysmon: 'ParentCommandLine',
    ecs: 'process.parent.command_line',
    defender: 'InitiatingProcessCommandLine',
  },
  {
    sysmon: 'OriginalFileName',
    ecs: 'process.pe.original_file_name',
    defender: 'ProcessVersionInfoOriginalFileName',
  },
  {
    sysmon: 'ProcessId',
    ecs: 'process.pid',
    defender: 'ProcessId',
    security4688: 'NewProcessId',
    ecsType: 'long',
  },
  // Security 4688's ProcessId is the creator's: ECS keeps it as the parent's pid.
  { sysmon: 'ParentProcessId', ecs: 'process.parent.pid', security4688: 'ProcessId', ecsType: 'long' },
  { sysmon: 'ProcessGuid', ecs: 'process.entity_id' },
  { sysmon: 'ParentProcessGuid', ecs: 'process.parent.entity_id' },
  { sysmon: 'IntegrityLevel', ecs: 'winlog.event_data.IntegrityLevel', defender: 'ProcessIntegrityLevel' },
  { sysmon: 'User', ecs: 'user.name', defender: 'AccountName' },
  { sysmon: 'TargetFilename', ecs: 'file.path', defender: 'FolderPath', eventIds: [11] },
  { sysmon: 'ImageLoaded', ecs: 'file.path', defender: 'FolderPath', eventIds: [7] },
  { sysmon: 'TargetObject', ecs: 'registry.path', defender: 'RegistryKey' },
  { sysmon: 'Details', ecs: 'registry.data.strings', defender: 'RegistryValueData' },
  { sysmon: 'DestinationIp', ecs: 'destination.ip', defender: 'RemoteIP', ecsType: 'ip' },
  { sysmon: 'DestinationPort', ecs: 'destination.port', defender: 'RemotePort', ecsType: 'long' },
  { sysmon: 'DestinationHostname', ecs: 'destination.domain', defender: 'RemoteUrl' },
  { sysmon: 'QueryName', ecs: 'dns.question.name' },
  { sysmon: 'SourceImage', ecs: 'process.executable', eventIds: [10] },
  { sysmon: 'TargetImage', ecs: 'winlog.event_data.TargetImage' },
  { sysmon: 'CallTrace', ecs: 'winlog.event_data.CallTrace' },
  { sysmon: 'Initiated', ecs: 'network.direction' },
  // Event data with no ECS field of its own: Winlogbeat and Elastic Agent keep it under winlog.event_data.
  { sysmon: 'EventType', ecs: 'winlog.event_data.EventType' },
  { sysmon: 'GrantedAccess', ecs: 'winlog.event_data.GrantedAccess' },
  { sysmon: 'MandatoryLabel', ecs: 'winlog.event_data.MandatoryLabel' },
];

function ecsMapping(sysmon: string, eventId: number): FieldMapping | undefined {
  return fieldMap.find(
    (m) => m.sysmon === sysmon && (m.eventIds === undefined || m.eventIds.includes(eventId)),
  );
}

/** The ECS field that holds a Sysmon field for an event id, if any. */
export function ecsField(sysmon: string, eventId: number): string | undefined {
  return ecsMapping(sysmon, eventId)?.ecs;
}

/** Every ECS field the queries treat as typed (not keyword), with its type. */
export function typedEcsFields(): { field: string; type: 'ip' | 'long' }[] {
  return fieldMap.flatMap((m) => (m.ecsType === undefined ? [] : [{ field: m.ecs, type: m.ecsType }]));
}

/** The ECS field's type when it is not a keyword (see FieldMapping.ecsType). */
export function ecsFieldType(sysmon: string, eventId: number): 'ip' | 'long' | undefined {
  return ecsMapping(sysmon, eventId)?.ecsType;
}

/**
 * Sysmon fields that are numbers (ids and ports): the public Sysmon parsers type them long (v11.0) or leave
 * them dynamic (all versions), so KQL compares them as numbers, never as strings.
 */
export const sysmonNumericFields: ReadonlySet<string> = new Set(
  fieldMap.filter((m) => m.ecsType === 'long').map((m) => m.sysmon),
);

/**
 * Defender advanced-hunting columns of type long/int (learn.microsoft.com, the Device* table schemas):
 * compared as numbers, since `=~` with a string is a type error in Kusto.
 */
export const defenderNumericColumns: ReadonlySet<string> = new Set([
  'ProcessId',
  'InitiatingProcessId',
  'RemotePort',
  'LocalPort',
]);

/** Security 4688 names (as our patterns use them) -> Sysmon names, for backends that read Sysmon/ECS names. */
export function sysmonNameFor4688(securityName: string): string {
  return fieldMap.find((m) => m.security4688 === securityName)?.sysmon ?? securityName;
}

/** Splunk's Windows add-on names for Security 4688 fields (WinEventLog:Security, classic rendering). */
export const splunkSecurity4688: Readonly<Record<string, string>> = {
  NewProcessName: 'New_Process_Name',
  CommandLine: 'Process_Command_Line',
  ParentProcessName: 'Creator_Process_Name',
  NewProcessId: 'New_Process_ID',
};

/**
 * Microsoft Defender advanced hunting: the table that records each Sysmon event type, and the column for
 * each Sysmon field in it. Sysmon 10 (process access, call stacks) and 22 (DNS) have no faithful equivalent.
 */
export const defenderTables: Readonly<
  Record<number, { table: string; actionType?: string; columns: Readonly<Record<string, string>> }>
> = {
  1: {
    table: 'DeviceProcessEvents',
    columns: {
      Image: 'FolderPath',
      CommandLine: 'ProcessCommandLine',
      ParentImage: 'InitiatingProcessFolderPath',
      ParentCommandLine: 'InitiatingProcessCommandLine',
      OriginalFileName: 'ProcessVersionInfoOriginalFileName',
      IntegrityLevel: 'ProcessIntegrityLevel',
    },
  },
  3: {
    table: 'DeviceNetworkEvents',
    columns: {
      Image: 'InitiatingProcessFolderPath',
      DestinationHostname: 'RemoteUrl',
      DestinationIp: 'RemoteIP',
      DestinationPort: 'RemotePort',
      ProcessId: 'InitiatingProcessId',
    },
  },
  7: {
    table: 'DeviceImageLoadEvents',
    columns: {
      Image: 'InitiatingProcessFolderPath',
      ImageLoaded: 'FolderPath',
      ProcessId: 'InitiatingProcessId',
    },
  },
  11: {
    table: 'DeviceFileEvents',
    actionType: 'FileCreated',
    columns: { Image: 'InitiatingProcessFolderPath', TargetFilename: 'FolderPath' },
  },
  12: {
    table: 'DeviceRegistryEvents',
    actionType: 'RegistryKeyCreated',
    columns: { Image: 'InitiatingProcessFolderPath', TargetObject: 'RegistryKey' },
  },
  13: {
    table: 'DeviceRegistryEvents',
    actionType: 'RegistryValueSet',
    columns: {
      Image: 'InitiatingProcessFolderPath',
      TargetObject: 'RegistryKey',
      Details: 'RegistryValueData',
    },
  },
};

/**
 * Where the Sentinel connector reads Sysmon: a workspace function named `Sysmon` (a public Sysmon parser
 * saved by hand), or Microsoft's ASIM parsers, by their built-in names (`_Im_*`, in every workspace) or the
 * names they have when deployed to the workspace (`im*`).
 */
export type SysmonSource = 'function' | 'asim' | 'asim-workspace';

/**
 * One ASIM schema as the Sysmon source parser fills it (Azure-Sentinel, Parsers/ASim*\/Parsers/
 * ASim*MicrosoftSysmon.yaml), with the KQL that gives each Sysmon field back from its normalized columns.
 * Every Sysmon parser sets `EventProduct = "Sysmon"`, `EventOriginalType` to the event id and the alias `Dvc`
 * to the event's Computer (`DvcHostname` is not reliable: the network parser sets it to the remote host's
 * name, and the registry parser drops it).
 */
export interface AsimSchema {
  readonly builtIn: string;
  readonly workspace: string;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * The four ASIM schemas that carry the Sysmon events the catalogue uses. Sysmon 7 (image loads) and 10
 * (process access) have no ASIM schema, and the ASIM DNS parser for Sysmon reads only the WindowsEvent table,
 * so those legs keep reading the `Sysmon` function.
 */
export const asimSchemas: Readonly<Record<number, AsimSchema>> = Object.fromEntries(
  [
    [
      [1],
      {
        // ASimProcessCreateMicrosoftSysmon: Image -> TargetProcessName, ParentImage -> ActingProcessName,
        // ProcessId/ParentProcessId as strings.
        builtIn: '_Im_ProcessCreate',
        workspace: 'imProcessCreate',
        fields: {
          Image: 'TargetProcessName',
          CommandLine: 'TargetProcessCommandLine',
          ProcessId: 'TargetProcessId',
          ProcessGuid: 'TargetProcessGuid',
          IntegrityLevel: 'TargetProcessIntegrityLevel',
          User: 'TargetUsername',
          ParentImage: 'ActingProcessName',
          ParentCommandLine: 'ActingProcessCommandLine',
          ParentProcessId: 'ActingProcessId',
          ParentProcessGuid: 'ActingProcessGuid',
        },
      },
    ],
    [
      [3],
      {
        // ASimNetworkSessionMicrosoftSysmon: an outbound connection (Initiated) puts the process in
        // DstProcessName, an inbound one in SrcProcessName; DstPortNumber is an int.
        builtIn: '_Im_NetworkSession',
        workspace: 'imNetworkSession',
        fields: {
          Image: 'coalesce(DstProcessName, SrcProcessName)',
          ProcessId: 'coalesce(DstProcessId, SrcProcessId)',
          DestinationIp: 'DstIpAddr',
          DestinationPort: 'DstPortNumber',
          DestinationHostname: 'DstHostname',
        },
      },
    ],
    [
      [11],
      {
        // ASimFileEventMicrosoftSysmon: TargetFilename -> TargetFilePath, Image -> ActingProcessName.
        builtIn: '_Im_FileEvent',
        workspace: 'imFileEvent',
        fields: {
          TargetFilename: 'TargetFilePath',
          Image: 'ActingProcessName',
          ProcessId: 'ActingProcessId',
          User: 'ActorUsername',
        },
      },
    ],
    [
      [12, 13],
      {
        // ASimRegistryEventMicrosoftSysmon: the hive is spelt out (HKLM -> HKEY_LOCAL_MACHINE) and a value
        // set splits TargetObject into RegistryKey and RegistryValue; Details -> RegistryValueData.
        builtIn: '_Im_RegistryEvent',
        workspace: 'imRegistry',
        fields: {
          TargetObject: 'strcat(RegistryKey, iff(isempty(RegistryValue), "", @"\\"), RegistryValue)',
          Details: 'RegistryValueData',
          Image: 'ActingProcessName',
          ProcessId: 'ActingProcessId',
        },
      },
    ],
  ].flatMap(([ids, schema]) => (ids as number[]).map((id) => [id, schema as AsimSchema])),
);

/** The ASIM parser's name under a source (`asim`: built in; `asim-workspace`: deployed to the workspace). */
export function asimParserName(schema: AsimSchema, source: SysmonSource): string {
  return source === 'asim-workspace' ? schema.workspace : schema.builtIn;
}
