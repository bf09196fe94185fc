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
    ...sysmonFields.map((f) => `${f}:string`),
    ...sysmonNumbers.map((f) => `${f}:long`),
  ]),
  'all-versions': datatable([
    'TimeGenerated:datetime',
    'Computer:string',
    'EventID:int',
    ...[...sysmonFields, ...sysmonNumbers].map((f) => `${f}:dynamic`),
  ]),
  'v12.0': datatable(['EventID:int', ...[...sysmonFields, ...sysmonNumbers].map((f) => `${f}:dynamic`)]),
} as const;

/**
 * A workspace with the `Sysmon` function saved from one parser (or none), and optionally without the
 * Defender tables (no Microsoft Defender for Endpoint connected) or SecurityEvent (no Windows Security
 * Events connector).
 */
export function sentinelWorkspace(
  sysmon: keyof typeof sysmonParsers | null,
  has: { readonly defender?: boolean; readonly securityEvent?: boolean } = {},
): KustoWorkspace {
  const present = Object.entries(tables).filter(
    ([name]) =>
      (has.defender !== false || !name.startsWith('Device')) &&
      (has.securityEvent !== false || name !== 'SecurityEvent'),
  );
  return {
    tables: Object.fromEntries(present),
    functions: sysmon === null ? {} : { Sysmon: sysmonParsers[sysmon] },
  };
}
