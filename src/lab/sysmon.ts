import { createHash } from 'node:crypto';
import type { WindowsProcess } from './windows-model.js';

/** The AN0932 behaviour an event records; used only by the lab's knobs and sensor profiles, never shipped. */
export type Behaviour =
  | 'payload-file'
  | 'cmstp-exec'
  | 'child-process'
  | 'remote-fetch'
  | 'scriptlet-load'
  | 'com-elevation'
  | 'profile-registry'
  | 'canary'
  | 'scaffolding';

export interface LabEvent {
  readonly behaviour: Behaviour;
  readonly time: Date;
  readonly fields: Readonly<Record<string, string | number>>;
}

export const sysmonChannel = 'Microsoft-Windows-Sysmon/Operational';

/** Sysmon's UtcTime format: `2026-11-23 19:41:52.123`. */
export function sysmonTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

function digest(algorithm: string, text: string): string {
  return createHash(algorithm).update(text).digest('hex').toUpperCase();
}

/** Stable per-image hashes, formatted as Sysmon writes the Hashes field. */
export function imageHashes(image: string): string {
  const seed = `simulated:${image.toLowerCase()}`;
  return `SHA1=${digest('sha1', seed)},MD5=${digest('md5', seed)},SHA256=${digest('sha256', seed)},IMPHASH=${digest('md5', `imp:${seed}`)}`;
}

const versionInfo: Readonly<Record<string, { OriginalFileName: string; Description: string }>> = {
  'cmstp.exe': {
    OriginalFileName: 'CMSTP.EXE',
    Description: 'Microsoft Connection Manager Profile Installer',
  },
  'cmd.exe': { OriginalFileName: 'Cmd.Exe', Description: 'Windows Command Processor' },
  'powershell.exe': { OriginalFileName: 'PowerShell.EXE', Description: 'Windows PowerShell' },
  'dllhost.exe': { OriginalFileName: 'dllhost.exe', Description: 'COM Surrogate' },
  'sftp-server.exe': { OriginalFileName: 'sftp-server.exe', Description: 'OpenSSH SFTP Server' },
  'scrobj.dll': { OriginalFileName: 'scrobj.dll', Description: 'Windows \u00ae Script Component Runtime' },
  'cmlua.dll': { OriginalFileName: 'CMLUA.DLL', Description: 'Connection Manager Admin API Helper' },
  'cmstplua.dll': {
    OriginalFileName: 'CMSTPLUA.DLL',
    Description: 'Connection Manager Admin API Helper for Setup',
  },
  'cmutil.dll': { OriginalFileName: 'cmutil.dll', Description: 'Connection Manager Utility Library' },
  'cmcfg32.dll': { OriginalFileName: 'cmcfg32.dll', Description: 'Connection Manager Configuration Dll' },
};

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('\\') + 1).toLowerCase();
}

export interface HostIdentity {
  readonly computer: string;
  readonly domain: string;
  readonly userName: string;
  readonly userSid: string;
  readonly logonGuid: string;
  readonly logonId: string;
}

function sysmon(host: HostIdentity, eventId: number, time: Date): Record<string, string | number> {
  return {
    EventID: eventId,
    Channel: sysmonChannel,
    Provider_Name: 'Microsoft-Windows-Sysmon',
    Computer: host.computer,
    RuleName: '-',
    UtcTime: sysmonTime(time),
  };
}

/** One Sysmon event: the common header (EventID, Channel, Computer, UtcTime...) plus the event's own fields. */
function sysmonEvent(
  host: HostIdentity,
  eventId: number,
  behaviour: Behaviour,
  fields: Record<string, string | number>,
  time = new Date(),
): LabEvent {
  return { behaviour, time, fields: { ...sysmon(host, eventId, time), ...fields } };
}

/** The image's version resource, as events 1 and 7 report it (every modelled image is Windows' own). */
function versionFields(image: string): Record<string, string> {
  const info = versionInfo[baseName(image)] ?? { OriginalFileName: baseName(image), Description: '-' };
  return {
    FileVersion: '10.0.19041.1 (WinBuild.160101.0800)',
    Description: info.Description,
    Product: 'Microsoft\u00ae Windows\u00ae Operating System',
    Company: 'Microsoft Corporation',
    OriginalFileName: info.OriginalFileName,
  };
}

/** Sysmon event 1, Process Create. */
export function processCreate(host: HostIdentity, process: WindowsProcess, behaviour: Behaviour): LabEvent {
  const parent = process.parent;
  return sysmonEvent(
    host,
    1,
    behaviour,
    {
      ProcessGuid: process.guid,
      ProcessId: process.pid,
      Image: process.image,
      ...versionFields(process.image),
      CommandLine: process.commandLine,
      CurrentDirectory: process.currentDirectory,
      User: process.user,
      LogonGuid: host.logonGuid,
      LogonId: host.logonId,
      TerminalSessionId: 0,
      IntegrityLevel: process.integrityLevel,
      Hashes: imageHashes(process.image),
      ParentProcessGuid: parent?.guid ?? '-',
      ParentProcessId: parent?.pid ?? 0,
      ParentImage: parent?.image ?? '-',
      ParentCommandLine: parent?.commandLine ?? '-',
      ParentUser: parent?.user ?? '-',
    },
    process.started,
  );
}

const mandatoryLabels = { Medium: 'S-1-16-8192', High: 'S-1-16-12288', System: 'S-1-16-16384' } as const;

/** Security 4688, A new process has been created (process ids in hex, as Windows writes them). */
export function securityProcessCreate(
  host: HostIdentity,
  process: WindowsProcess,
  behaviour: Behaviour,
  withCommandLine: boolean,
): LabEvent {
  const [domain = '', name = ''] = process.user.split('\\');
  // A process that a service starts for the user (DcomLaunch's COM surrogate) is created by SYSTEM on the
  // user's behalf: the subject is the machine account and the target the user (OTRF 4688 for dllhost.exe).
  const forUser = /\\svchost\.exe$/i.test(process.parent?.image ?? '') && process.integrityLevel !== 'System';
  const subject = forUser
    ? {
        SubjectUserSid: 'S-1-5-18',
        SubjectUserName: `${host.domain}$`,
        SubjectDomainName: 'WORKGROUP',
        SubjectLogonId: '0x3e7',
      }
    : {
        SubjectUserSid: process.integrityLevel === 'System' ? 'S-1-5-18' : host.userSid,
        SubjectUserName: name,
        SubjectDomainName: domain,
        SubjectLogonId: host.logonId,
      };
  const target = forUser
    ? {
        TargetUserSid: 'S-1-0-0',
        TargetUserName: name,
        TargetDomainName: domain,
        TargetLogonId: host.logonId,
      }
    : { TargetUserSid: 'S-1-0-0', TargetUserName: '-', TargetDomainName: '-', TargetLogonId: '0x0' };
  return {
    behaviour,
    time: process.started,
    fields: {
      EventID: 4688,
      Channel: 'Security',
      Provider_Name: 'Microsoft-Windows-Security-Auditing',
      Computer: host.computer,
      TimeCreated: process.started.toISOString(),
      ...subject,
      NewProcessId: `0x${process.pid.toString(16)}`,
      NewProcessName: process.image,
      TokenElevationType: '%%1936',
      ProcessId: `0x${(process.parent?.pid ?? 0).toString(16)}`,
      CommandLine: withCommandLine ? process.commandLine : '',
      ...target,
      ParentProcessName: process.parent?.image ?? '',
      MandatoryLabel: mandatoryLabels[process.integrityLevel],
    },
  };
}

/** Sysmon event 11, File Create. */
export function fileCreate(
  host: HostIdentity,
  process: WindowsProcess,
  targetFilename: string,
  time: Date,
  behaviour: Behaviour,
): LabEvent {
  return sysmonEvent(
    host,
    11,
    behaviour,
    {
      ProcessGuid: process.guid,
      ProcessId: process.pid,
      Image: process.image,
      TargetFilename: targetFilename,
      CreationUtcTime: sysmonTime(time),
      User: process.user,
    },
    time,
  );
}

/** Sysmon event 7, Image loaded. */
export function imageLoad(
  host: HostIdentity,
  process: WindowsProcess,
  imageLoaded: string,
  behaviour: Behaviour,
): LabEvent {
  const time = new Date();
  return sysmonEvent(
    host,
    7,
    behaviour,
    {
      ProcessGuid: process.guid,
      ProcessId: process.pid,
      Image: process.image,
      ImageLoaded: imageLoaded,
      ...versionFields(imageLoaded),
      Hashes: imageHashes(imageLoaded),
      Signed: 'true',
      Signature: 'Microsoft Windows',
      SignatureStatus: 'Valid',
      User: process.user,
    },
    time,
  );
}

/** Sysmon event 22, DNS query. */
export function dnsQuery(
  host: HostIdentity,
  process: WindowsProcess,
  queryName: string,
  address: string | null,
): LabEvent {
  return sysmonEvent(host, 22, 'remote-fetch', {
    ProcessGuid: process.guid,
    ProcessId: process.pid,
    QueryName: queryName,
    // 9003 is DNS_ERROR_RCODE_NAME_ERROR, what Windows records for a name that does not resolve.
    QueryStatus: address === null ? '9003' : '0',
    QueryResults: address === null ? '-' : `::ffff:${address};`,
    Image: process.image,
    User: process.user,
  });
}

/** Sysmon event 3, Network connection detected. */
export function networkConnect(
  host: HostIdentity,
  process: WindowsProcess,
  destination: { hostname: string; ip: string; port: number },
): LabEvent {
  return sysmonEvent(host, 3, 'remote-fetch', {
    ProcessGuid: process.guid,
    ProcessId: process.pid,
    Image: process.image,
    User: process.user,
    Protocol: 'tcp',
    Initiated: 'true',
    SourceIsIpv6: 'false',
    // A connection to loopback leaves from loopback; anything else from the lab VM's address.
    SourceIp: destination.ip.startsWith('127.') ? '127.0.0.1' : '10.20.0.15',
    SourceHostname: host.computer,
    SourcePort: 49_152 + Math.floor(Math.random() * 16_000),
    SourcePortName: '-',
    DestinationIsIpv6: 'false',
    DestinationIp: destination.ip,
    DestinationHostname: destination.hostname,
    DestinationPort: destination.port,
    DestinationPortName: destination.port === 80 ? 'http' : '-',
  });
}

/** Sysmon event 10, Process accessed: what a COM surrogate leaves when it starts and opens its child. */
export function processAccess(
  host: HostIdentity,
  source: WindowsProcess,
  target: WindowsProcess,
  callTrace: string,
  behaviour: Behaviour,
): LabEvent {
  return sysmonEvent(host, 10, behaviour, {
    SourceProcessGUID: source.guid,
    SourceProcessId: source.pid,
    SourceThreadId: source.pid + 12,
    SourceImage: source.image,
    TargetProcessGUID: target.guid,
    TargetProcessId: target.pid,
    TargetImage: target.image,
    // As Sysmon prints it (OTRF: 0x1fffff).
    GrantedAccess: '0x1fffff',
    CallTrace: callTrace,
    SourceUser: source.user,
    TargetUser: target.user,
  });
}

/** Sysmon 12 (CreateKey, DeleteValue) or 13 (SetValue). TargetObject uses Sysmon's hive names (HKLM, HKU\<SID>). */
export function registryEvent(
  host: HostIdentity,
  process: WindowsProcess,
  change:
    | { kind: 'CreateKey' | 'DeleteValue'; targetObject: string }
    | { kind: 'SetValue'; targetObject: string; details: string },
  behaviour: Behaviour,
): LabEvent {
  return sysmonEvent(host, change.kind === 'SetValue' ? 13 : 12, behaviour, {
    EventType: change.kind,
    ProcessGuid: process.guid,
    ProcessId: process.pid,
    Image: process.image,
    TargetObject: change.targetObject,
    ...(change.kind === 'SetValue' ? { Details: change.details } : {}),
    User: process.user,
  });
}

const systemFields = new Set(['EventID', 'Channel', 'Computer', 'Provider_Name']);

function xmlEscape(value: string): string {
  return value.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

/**
 * The event as Windows renders it to XML (what Splunk's XmlWinEventLog inputs index as `_raw`):
 * <System> with provider, id, time, channel and computer, and every other field as <Data Name=...>.
 */
export function toWindowsXml(event: LabEvent): string {
  const f = event.fields;
  const data = Object.entries(f)
    .filter(([name]) => !systemFields.has(name))
    .map(([name, value]) => `<Data Name='${xmlEscape(name)}'>${xmlEscape(String(value))}</Data>`)
    .join('');
  const provider = xmlEscape(
    String(
      f.Provider_Name ??
        (f.Channel === sysmonChannel ? 'Microsoft-Windows-Sysmon' : 'Microsoft-Windows-Security-Auditing'),
    ),
  );
  return (
    `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='${provider}'/>` +
    `<EventID>${String(f.EventID)}</EventID><TimeCreated SystemTime='${event.time.toISOString()}'/>` +
    `<Channel>${xmlEscape(String(f.Channel))}</Channel><Computer>${xmlEscape(String(f.Computer))}</Computer></System>` +
    `<EventData>${data}</EventData></Event>`
  );
}

/**
 * A Security 4688 as a forwarder with `renderXml = false` sends it (source WinEventLog:Security): a header of
 * key=value lines, then the event's message with "Name:<tab>value" lines, from which Splunk's Windows add-on
 * extracts fields with spaces made underscores (New_Process_Name, Process_Command_Line, Creator_Process_Name).
 */
export function toClassicText(event: LabEvent): string {
  const f = event.fields;
  const v = (name: string): string => String(f[name] ?? '');
  const account = (title: string, prefix: 'Subject' | 'Target'): string[] => [
    title,
    `\tSecurity ID:\t\t${v(`${prefix}UserSid`)}`,
    `\tAccount Name:\t\t${v(`${prefix}UserName`)}`,
    `\tAccount Domain:\t\t${v(`${prefix}DomainName`)}`,
    `\tLogon ID:\t\t${v(`${prefix}LogonId`)}`,
    '',
  ];
  return [
    event.time.toISOString(),
    'LogName=Security',
    `EventCode=${v('EventID')}`,
    'EventType=0',
    `ComputerName=${v('Computer')}`,
    'SourceName=Microsoft Windows security auditing.',
    'Type=Information',
    'Keywords=Audit Success',
    'TaskCategory=Process Creation',
    'OpCode=Info',
    'Message=A new process has been created.',
    '',
    ...account('Creator Subject:', 'Subject'),
    ...account('Target Subject:', 'Target'),
    'Process Information:',
    `\tNew Process ID:\t\t${v('NewProcessId')}`,
    `\tNew Process Name:\t${v('NewProcessName')}`,
    `\tToken Elevation Type:\t${v('TokenElevationType')}`,
    `\tMandatory Label:\t\t${v('MandatoryLabel')}`,
    `\tCreator Process ID:\t${v('ProcessId')}`,
    `\tCreator Process Name:\t${v('ParentProcessName')}`,
    `\tProcess Command Line:\t${v('CommandLine')}`,
  ].join('\n');
}
