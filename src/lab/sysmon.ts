import { createHash } from 'node:crypto';
import type { WindowsProcess } from './windows-model.js';

/** The AN0932 behaviour an event records; used only by the lab's fault knobs, never shipped. */
export type Behaviour = 'payload-file' | 'cmstp-exec' | 'child-process' | 'com-elevation' | 'scaffolding';

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
  'sftp-server.exe': { OriginalFileName: 'sftp-server.exe', Description: 'OpenSSH SFTP Server' },
  'sshd-session.exe': { OriginalFileName: 'sshd-session.exe', Description: 'OpenSSH SSH Server Session' },
};

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('\\') + 1).toLowerCase();
}

export interface HostIdentity {
  readonly computer: string;
  readonly logonGuid: string;
  readonly logonId: string;
}

function common(host: HostIdentity, eventId: number, time: Date): Record<string, string | number> {
  return {
    EventID: eventId,
    Channel: sysmonChannel,
    Provider_Name: 'Microsoft-Windows-Sysmon',
    Computer: host.computer,
    RuleName: '-',
    UtcTime: sysmonTime(time),
  };
}

/** Sysmon event 1, Process Create. */
export function processCreate(host: HostIdentity, process: WindowsProcess, behaviour: Behaviour): LabEvent {
  const info = versionInfo[baseName(process.image)] ?? {
    OriginalFileName: baseName(process.image),
    Description: '-',
  };
  const parent = process.parent;
  return {
    behaviour,
    time: process.started,
    fields: {
      ...common(host, 1, process.started),
      ProcessGuid: process.guid,
      ProcessId: process.pid,
      Image: process.image,
      FileVersion: '10.0.19041.1 (WinBuild.160101.0800)',
      Description: info.Description,
      Product: 'Microsoft\u00ae Windows\u00ae Operating System',
      Company: 'Microsoft Corporation',
      OriginalFileName: info.OriginalFileName,
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
  return {
    behaviour,
    time,
    fields: {
      ...common(host, 11, time),
      ProcessGuid: process.guid,
      ProcessId: process.pid,
      Image: process.image,
      TargetFilename: targetFilename,
      CreationUtcTime: sysmonTime(time),
      User: process.user,
    },
  };
}
