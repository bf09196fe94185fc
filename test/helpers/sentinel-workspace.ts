import type { KustoWorkspace } from './kusto.js';

/**
 * The Log Analytics tables the Sentinel connector queries, with the columns it uses and their types, from
 * Microsoft's table references: SecurityEvent (learn.microsoft.com/azure/azure-monitor/reference/tables/
 * securityevent: every 4688 field a string, EventID int), the Defender advanced-hunting tables
 * (learn.microsoft.com/defender-xdr/advanced-hunting-*-table: ProcessId and InitiatingProcessId long,
 * RemotePort int), SecurityAlert and SecurityIncident.
 */
const tables: Readonly<Record<string, string>> = {
  SecurityEvent:
    '(TimeGenerated:datetime, Computer:string, EventID:int, Channel:string, NewProcessName:string, NewProcessId:string, CommandLine:string, ParentProcessName:string, ProcessId:string, SubjectUserName:string, TargetUserName:string, TokenElevationType:string, MandatoryLabel:string, EventData:string, Type:string, _ItemId:string)',
  DeviceProcessEvents:
    '(Timestamp:datetime, TimeGenerated:datetime, DeviceName:string, ActionType:string, FolderPath:string, ProcessCommandLine:string, ProcessId:long, ProcessVersionInfoOriginalFileName:string, ProcessIntegrityLevel:string, InitiatingProcessFolderPath:string, InitiatingProcessCommandLine:string, InitiatingProcessId:long, ReportId:long, Type:string)',
  DeviceNetworkEvents:
    '(Timestamp:datetime, TimeGenerated:datetime, DeviceName:string, ActionType:string, RemoteIP:string, RemotePort:int, RemoteUrl:string, LocalPort:int, InitiatingProcessFolderPath:string, InitiatingProcessId:long, ReportId:long, Type:string)',
  DeviceImageLoadEvents:
    '(Timestamp:datetime, TimeGenerated:datetime, DeviceName:string, ActionType:string, FolderPath:string, InitiatingProcessFolderPath:string, InitiatingProcessId:long, ReportId:long, Type:string)',
  DeviceFileEvents:
    '(Timestamp:datetime, TimeGenerated:datetime, DeviceName:string, ActionType:string, FolderPath:string, InitiatingProcessFolderPath:string, InitiatingProcessId:long, ReportId:long, Type:string)',
  DeviceRegistryEvents:
    '(Timestamp:datetime, TimeGenerated:datetime, DeviceName:string, ActionType:string, RegistryKey:string, RegistryValueName:string, RegistryValueData:string, InitiatingProcessFolderPath:string, InitiatingProcessId:long, ReportId:long, Type:string)',
  SecurityAlert:
    '(TimeGenerated:datetime, SystemAlertId:string, AlertName:string, AlertSeverity:string, CompromisedEntity:string, Entities:string, ExtendedProperties:string, Techniques:string, ProductName:string, Type:string)',
  SecurityIncident:
    '(TimeGenerated:datetime, LastModifiedTime:datetime, IncidentName:string, IncidentNumber:int, Title:string, Status:string, AlertIds:dynamic, Type:string)',
};

/** Sysmon's EventData fields the catalogue uses, with the type each parser gives them. */
const sysmonFields = [
  'ProcessGuid',
  'Image',
  'OriginalFileName',
  'CommandLine',
  'User',
  'IntegrityLevel',
  'ParentProcessGuid',
  'ParentImage',
  'ParentCommandLine',
  'DestinationIp',
  'DestinationHostname',
  'Initiated',
  'SourceImage',
  'TargetImage',
  'CallTrace',
  'GrantedAccess',
  'ImageLoaded',
  'TargetFilename',
  'TargetObject',
  'Details',
  'QueryName',
];
const sysmonNumbers = ['ProcessId', 'ParentProcessId', 'DestinationPort'];

const datatable = (columns: readonly string[]): string => `datatable(${columns.join(', ')})[]`;

/**
 * The `Sysmon` workspace function as each public parser (Azure-Sentinel, Parsers/Sysmon) defines its output:
 * - v11.0 (`Sysmon-v11.0.txt`): TimeGenerated, Computer and EventID from the Event table, each field typed
 *   (`tolong()` for ids and ports, `tostring()` for the rest). The documented, tested parser.
 * - all versions (`Sysmon-AllVersions_Parser.txt`): the same names, each field `dynamic` (a pivot of the XML).
 * - v12.0 (`Sysmon-v12.0.txt`): fields `dynamic`, and its final `project` drops Computer and TimeGenerated.
 */
export const sysmonParsers = {
  'v11.0': datatable([
    'TimeGenerated:datetime',
    'Computer:string',
    'EventID:int',
    'Type:string',
    '_ItemId:string',
    ...sysmonFields.map((f) => `${f}:string`),
    ...sysmonNumbers.map((f) => `${f}:long`),
  ]),
  'all-versions': datatable([
    'TimeGenerated:datetime',
    'Computer:string',
    'EventID:int',
    'Type:string',
    '_ItemId:string',
    ...[...sysmonFields, ...sysmonNumbers].map((f) => `${f}:dynamic`),
  ]),
  'v12.0': datatable(['EventID:int', ...[...sysmonFields, ...sysmonNumbers].map((f) => `${f}:dynamic`)]),
} as const;

const asimCommon = [
  'TimeGenerated:datetime',
  'Type:string',
  'EventProduct:string',
  'EventVendor:string',
  'EventOriginalType:string',
  'EventType:string',
  'Dvc:string',
];

/**
 * The output of Microsoft's ASIM unifying parsers, by their built-in names, limited to the columns the
 * connector reads, with the types of the ASIM schemas (learn.microsoft.com/azure/sentinel/normalization-
 * schema-*: process and file ids are strings, DstPortNumber an int) and of the ASim*Logs tables that share
 * them. The same output under the names the parsers have when deployed to the workspace (im*).
 */
export const asimParsers: Readonly<Record<string, { readonly workspace: string; readonly output: string }>> =
  {
    _Im_ProcessCreate: {
      workspace: 'imProcessCreate',
      output: datatable([
        ...asimCommon,
        'DvcHostname:string',
        ...[
          'TargetProcessName',
          'TargetProcessCommandLine',
          'TargetProcessId',
          'TargetProcessGuid',
          'TargetProcessIntegrityLevel',
          'TargetUsername',
          'ActingProcessName',
          'ActingProcessCommandLine',
          'ActingProcessId',
          'ActingProcessGuid',
        ].map((c) => `${c}:string`),
      ]),
    },
    _Im_NetworkSession: {
      workspace: 'imNetworkSession',
      output: datatable([
        ...asimCommon,
        'DvcHostname:string',
        ...[
          'SrcProcessName',
          'SrcProcessId',
          'DstProcessName',
          'DstProcessId',
          'SrcIpAddr',
          'DstIpAddr',
          'DstHostname',
        ].map((c) => `${c}:string`),
        'DstPortNumber:int',
      ]),
    },
    _Im_FileEvent: {
      workspace: 'imFileEvent',
      output: datatable([
        ...asimCommon,
        'DvcHostname:string',
        'TargetFilePath:string',
        'ActingProcessName:string',
        'ActingProcessId:string',
        'ActorUsername:string',
      ]),
    },
    _Im_RegistryEvent: {
      workspace: 'imRegistry',
      output: datatable([
        ...asimCommon,
        'RegistryKey:string',
        'RegistryValue:string',
        'RegistryValueData:string',
        'ActingProcessName:string',
        'ActingProcessId:string',
      ]),
    },
  };

/**
 * A workspace with the `Sysmon` function saved from one parser (or none), and optionally without the
 * Defender tables (no Microsoft Defender for Endpoint connected) or SecurityEvent (no Windows Security
 * Events connector). The built-in ASIM parsers are in every workspace (unless `asimBuiltIn` is false, as in
 * a workspace whose built-ins predate a schema); the deployed ones only with `asimDeployed`.
 */
export function sentinelWorkspace(
  sysmon: keyof typeof sysmonParsers | null,
  has: {
    readonly defender?: boolean;
    readonly securityEvent?: boolean;
    readonly asimBuiltIn?: boolean;
    readonly asimDeployed?: boolean;
  } = {},
): KustoWorkspace {
  const present = Object.entries(tables).filter(
    ([name]) =>
      (has.defender !== false || !name.startsWith('Device')) &&
      (has.securityEvent !== false || name !== 'SecurityEvent'),
  );
  return {
    tables: Object.fromEntries(present),
    functions: {
      ...(sysmon === null ? {} : { Sysmon: sysmonParsers[sysmon] }),
      ...Object.fromEntries(
        Object.entries(asimParsers).flatMap(([name, parser]) => {
          const named: [string, string][] = [];
          if (has.asimBuiltIn !== false) named.push([name, parser.output]);
          if (has.asimDeployed === true) named.push([parser.workspace, parser.output]);
          return named;
        }),
      ),
    },
  };
}
