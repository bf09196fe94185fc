import { createHash } from 'node:crypto';
import { embeddedUserSid } from './identity.js';
import { InfError, parseInf, planInstall, type InstallPlan, type OcxEntry } from './inf.js';
import { sensorProfiles, type SensorProfile } from './sensor-profiles.js';
import {
  dnsQuery,
  fileCreate,
  imageLoad,
  networkConnect,
  processAccess,
  processCreate,
  registryEvent,
  securityProcessCreate,
  type Behaviour,
  type HostIdentity,
  type LabEvent,
} from './sysmon.js';
import {
  newGuid,
  parentDir,
  ProcessTable,
  Registry,
  VirtualDrive,
  type Drive,
  type WindowsProcess,
} from './windows-model.js';

export interface ExecOutcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** What the simulated host's network can do: resolve names and fetch over HTTP. */
export interface HostNetwork {
  resolve(hostname: string): string | null;
  fetch(url: URL, ip: string): Promise<{ status: number; body: string }>;
}

export interface HostOptions {
  readonly computer: string;
  readonly username: string;
  readonly emit: (event: LabEvent) => void;
  readonly sensor?: SensorProfile;
  readonly network?: HostNetwork;
  /** Fault knob: what the host answers when asked the time (a string that may not parse); null: the time. */
  readonly clockReading?: string;
  /** The C: drive; default: in memory. The script-executing target passes a folder on disk. */
  readonly drive?: Drive;
  /** Fault knobs for cmstp's own behaviour, which no one has observed on every Windows build. */
  readonly cmstp?: CmstpKnobs;
}

/**
 * What cmstp does that the lab cannot know (windows-review.md W4-W6): an install that returns non-zero, an
 * install that never exits (a dialog on the invisible session-0 desktop) until it is killed, and a `/u` that
 * fails and removes nothing.
 */
export interface CmstpKnobs {
  readonly installExitCode?: number;
  readonly hang?: boolean;
  readonly uninstallExitCode?: number;
  /** An install that takes this long before cmstp exits (a slow host), in ms. */
  readonly installMs?: number;
}

/** One remote operation as sshd hands it to PowerShell: the script and how it arrived. */
export interface OperationCall {
  readonly operation: string;
  /** The script's `$PhName = '...'` assignments. */
  readonly params: ReadonlyMap<string, string>;
  readonly script: string;
  /** The `-File` path when the script came as a file, else null (`-EncodedCommand`). */
  readonly file: string | null;
}

/**
 * Carries out a remote operation. `pid` is set when a real process runs it (the script-executing target):
 * the model's powershell.exe then takes that process's id, so what the script sees as $PID is the model's.
 */
export interface OperationRunner {
  readonly pid?: number;
  run(shell: WindowsProcess): Promise<ExecOutcome>;
}

/** The Sysmon service, and the forwarder that ships what it records, as Get-Service sees them. */
export const labServices = [
  { name: 'Sysmon64', displayName: 'Sysmon64' },
  { name: 'SplunkForwarder', displayName: 'SplunkForwarder' },
] as const;

/** Where Windows records whether 4688 carries the command line (ProcessCreationIncludeCmdLine_Enabled). */
export const auditPolicyKey = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\Audit';

const system32 = 'C:\\Windows\\System32';
export const cmstpLuaClsid = '{3E5FC7F9-9A51-4367-9063-A120244FBEC7}';
export const allUsersProfileRoot = 'C:\\ProgramData\\Microsoft\\Network\\Connections\\Cm';
/** Where Connection Manager maps each installed profile's service name to its .cmp file. */
export const mappingsKey = 'HKCU:\\Software\\Microsoft\\Connection Manager\\Mappings';
export const appPathsKey = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe';
/** HRESULTs cmstp reports, as 32-bit unsigned values the way sshd passes them on. */
const exitFileNotFound = 0x80070002;
const exitInvalidData = 0x8007000d;
/**
 * The call stack of the surrogate opening the INF command it starts (Sysmon 10), verbatim from the OTRF /au
 * recording (SDWIN-201022015432, MIT): advpack runs the command on behalf of cmlua's COM call.
 */
const infCallTrace = [
  'C:\\windows\\SYSTEM32\\ntdll.dll+9d934',
  'C:\\windows\\System32\\KERNELBASE.dll+59e1a',
  'C:\\windows\\System32\\KERNELBASE.dll+567b6',
  'C:\\windows\\System32\\KERNEL32.DLL+1bee3',
  'C:\\windows\\SYSTEM32\\advpack.dll+9c80',
  'C:\\windows\\SYSTEM32\\advpack.dll+5292',
  'C:\\windows\\SYSTEM32\\advpack.dll+4ed5',
  'C:\\windows\\SYSTEM32\\advpack.dll+469a',
  'C:\\windows\\SYSTEM32\\advpack.dll+3c25',
  'C:\\windows\\SYSTEM32\\advpack.dll+3ac5',
  'C:\\windows\\System32\\cmlua.dll+24b4',
  'C:\\windows\\System32\\cmlua.dll+3196',
  'C:\\windows\\System32\\RPCRT4.dll+76a63',
  'C:\\windows\\System32\\RPCRT4.dll+da036',
  'C:\\windows\\System32\\RPCRT4.dll+383b9',
  'C:\\windows\\System32\\combase.dll+a5cff',
  'C:\\windows\\System32\\RPCRT4.dll+59bab',
  'C:\\windows\\System32\\combase.dll+8d0e3',
  'C:\\windows\\System32\\combase.dll+8ced3',
  'C:\\windows\\System32\\combase.dll+a9556',
  'C:\\windows\\System32\\combase.dll+8a4fa',
  'C:\\windows\\System32\\combase.dll+8b1bd',
  'C:\\windows\\System32\\combase.dll+401ac',
  'C:\\windows\\System32\\combase.dll+40a11',
].join('|');

/**
 * ICMLuaUtil::ShellExec's stack, SYNTHETIC: no recording of it was at hand. ShellExecuteEx runs through
 * shell32 and windows.storage rather than advpack [inference]; offsets are 0 because none were observed.
 */
const shellExecCallTrace = [
  'C:\\windows\\SYSTEM32\\ntdll.dll+0',
  'C:\\windows\\System32\\KERNELBASE.dll+0',
  'C:\\windows\\System32\\KERNEL32.DLL+0',
  'C:\\windows\\System32\\windows.storage.dll+0',
  'C:\\windows\\System32\\SHELL32.dll+0',
  'C:\\windows\\System32\\cmlua.dll+0',
  'C:\\windows\\System32\\RPCRT4.dll+0',
  'C:\\windows\\System32\\combase.dll+0',
].join('|');

const operationHeader = /^# purple-harness remote operation: ([a-z-]+) v1$/m;

/** Splits a command line into arguments, honouring double quotes as the C runtime does. */
/**
 * A path through the host's own administrative share (\\localhost\C$\x, \\127.0.0.1\c$\x) as the local
 * path it names; any other path as it is. Other hosts' shares are not modelled.
 */
export function throughAdminShare(path: string): string {
  const share = /^\\\\(?:localhost|127\.0\.0\.1)\\([a-z])\$\\(.*)$/i.exec(path);
  return share === null ? path : `${(share[1] ?? 'C').toUpperCase()}:\\${share[2] ?? ''}`;
}

export function splitArguments(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

/**
 * A Windows host as far as the harness can tell over SSH: cmd.exe as sshd's default shell, PowerShell
 * helpers sent with -EncodedCommand, a C: drive, a registry, processes, and Sysmon watching all of it.
 */
/**
 * A folder's security descriptor, as SDDL pieces: the owner's SID, whether the DACL is protected (inherits
 * nothing), and its ACEs (inherited ones carry ID in their flags). The group is not modelled.
 */
export interface FolderSecurity {
  readonly owner: string;
  readonly protected: boolean;
  readonly aces: readonly string[];
}

/** The SDDL aliases Windows prints for the well-known SIDs the lab uses. */
const sidAliases: Record<string, string> = {
  'S-1-5-32-544': 'BA',
  'S-1-5-18': 'SY',
  'S-1-5-32-545': 'BU',
  'S-1-3-0': 'CO',
};
export const sddlSid = (sid: string): string => sidAliases[sid] ?? sid;

/**
 * What a folder made under C:\ProgramData inherits (icacls C:\ProgramData on Windows 10/11): SYSTEM and
 * Administrators full control, CREATOR OWNER full control of what it creates, Users read and execute, and
 * Users may also create files and folders (WD, AD, WEA, WA). The last is why the working folder needs its own.
 */
export const programDataAces = [
  '(A;OICIID;FA;;;SY)',
  '(A;OICIID;FA;;;BA)',
  '(A;OICIIOID;FA;;;CO)',
  '(A;OICIID;0x1200a9;;;BU)',
  '(A;CIID;0x116;;;BU)',
] as const;

/** Where cmstp.exe's RAS tracing defaults go, and what they are (OTRF recording: value, Sysmon's Details). */
export const tracingKey = 'HKLM:\\SOFTWARE\\Microsoft\\Tracing\\CMSTP';
const tracingDefaults = [
  ['EnableFileTracing', '0', 'DWORD (0x00000000)'],
  ['EnableAutoFileTracing', '0', 'DWORD (0x00000000)'],
  ['EnableConsoleTracing', '0', 'DWORD (0x00000000)'],
  ['FileTracingMask', String(0xffff0000), 'DWORD (0xffff0000)'],
  ['ConsoleTracingMask', String(0xffff0000), 'DWORD (0xffff0000)'],
  ['MaxFileSize', String(0x00100000), 'DWORD (0x00100000)'],
  ['FileDirectory', '%windir%\\tracing', '%%windir%%\\tracing'],
] as const;
export const phonebookDir = 'C:\\ProgramData\\Microsoft\\Network\\Connections\\Pbk';

/** A process started by DcomLaunch, or by a process that was, runs in System32. */
function inheritsSystem32(parent: WindowsProcess): boolean {
  for (let p: WindowsProcess | null = parent; p !== null; p = p.parent)
    if (/\\svchost\.exe$/i.test(p.image) || /\\dllhost\.exe$/i.test(p.image)) return true;
  return false;
}

/** How many events the host's logs keep, all channels together. */
const eventLogCapacity = 20_000;

export class SimulatedWindowsHost {
  readonly drive: Drive;
  readonly processes = new ProcessTable();
  readonly registry = new Registry();
  readonly identity: HostIdentity;
  readonly user: string;
  readonly profileDir: string;
  readonly sensor: SensorProfile;
  readonly clockReading: string | null;
  /** Every remote operation the host carried out, with its run marker and times: the host's own log. */
  readonly activity: { operation: string; marker: string | null; start: number; end: number }[] = [];
  /**
   * The host's own event logs: what its sensors recorded, oldest first, before any forwarder (so events the
   * lab drops on their way to the SIEM are still here, as on a real host). `wevtutil qe` reads it.
   */
  readonly eventLog: LabEvent[] = [];
  /** Folders whose security differs from what they inherit (Windows paths, lower-cased). */
  readonly #folderSecurity = new Map<string, FolderSecurity>();
  readonly #emit: (event: LabEvent) => void;
  readonly #cmstp: CmstpKnobs;
  /** Processes that hang until killed, with what ends them. */
  readonly #hung = new Map<number, () => void>();
  readonly #network: HostNetwork | undefined;
  readonly #sshd: WindowsProcess;
  readonly #dcomLaunch: WindowsProcess;

  constructor(options: HostOptions) {
    const domain = options.computer.split('.')[0]?.toUpperCase() ?? 'WIN';
    this.identity = {
      computer: options.computer,
      domain,
      userName: options.username,
      userSid: embeddedUserSid,
      logonGuid: newGuid(),
      logonId: '0x3e7a1c',
    };
    this.user = `${domain}\\${options.username}`;
    const roots = [system32, 'C:\\ProgramData', 'C:\\Program Files', 'C:\\Users'];
    this.drive = options.drive ?? new VirtualDrive(roots);
    for (const root of roots) this.drive.mkdirp(root);
    this.profileDir = `C:\\Users\\${options.username}`;
    this.drive.mkdirp(`${this.profileDir}\\AppData\\Roaming\\Microsoft\\Network\\Connections`);
    this.drive.mkdirp(`${this.profileDir}\\AppData\\Local\\Microsoft\\Windows\\INetCache\\IE\\Q7W2K1ZD`);
    this.sensor = options.sensor ?? sensorProfiles.full;
    if (this.sensor.security4688 === 'command-line')
      this.registry.setValue(auditPolicyKey, 'ProcessCreationIncludeCmdLine_Enabled', '1');
    this.clockReading = options.clockReading ?? null;
    this.#emit = options.emit;
    this.#cmstp = options.cmstp ?? {};
    this.#network = options.network;
    this.#sshd = this.processes.system(
      'C:\\Windows\\System32\\OpenSSH\\sshd.exe',
      'C:\\Windows\\System32\\OpenSSH\\sshd.exe',
    );
    this.#dcomLaunch = this.processes.system(
      'C:\\Windows\\system32\\svchost.exe',
      'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p',
    );
  }

  /** Everything the host records passes the sensor profile first, as a Sysmon config filters on the host. */
  #record(event: LabEvent): void {
    if (this.sensor.excludes(event)) return;
    this.eventLog.push(event);
    // A log has a maximum size; the oldest events go first, as Windows overwrites them.
    if (this.eventLog.length > eventLogCapacity)
      this.eventLog.splice(0, this.eventLog.length - eventLogCapacity);
    this.#emit(event);
  }

  #spawn(
    image: string,
    commandLine: string,
    parent: WindowsProcess,
    behaviour: Behaviour,
    integrity?: WindowsProcess['integrityLevel'],
    pid?: number,
  ): WindowsProcess {
    const process = this.processes.spawn({
      ...(pid === undefined ? {} : { pid }),
      image,
      commandLine,
      parent,
      user: this.user,
      integrityLevel: integrity ?? 'High',
      // DcomLaunch starts the surrogate in System32, and its children inherit that (OTRF and the public EVTX
      // recordings); everything else starts where the SSH session does, the profile folder.
      currentDirectory: inheritsSystem32(parent) ? 'C:\\windows\\system32\\' : `${this.profileDir}\\`,
    });
    this.#record(processCreate(this.identity, process, behaviour));
    if (this.sensor.security4688 !== 'off') {
      this.#record(
        securityProcessCreate(this.identity, process, behaviour, this.sensor.security4688 === 'command-line'),
      );
    }
    return process;
  }

  /** Sysmon writes registry paths with its own hive names: HKLM\..., HKU\<SID>\... for the user hive. */
  #sysmonKey(path: string): string {
    return path.replace(/^HKLM:\\/i, 'HKLM\\').replace(/^HKCU:\\/i, `HKU\\${this.identity.userSid}\\`);
  }

  /** Sets a value and records it; `details` is Sysmon's rendering of the data when it differs (DWORD (0x...)). */
  #setValue(
    process: WindowsProcess,
    key: string,
    name: string,
    data: string,
    behaviour: Behaviour,
    details = data,
  ): void {
    if (this.registry.createKey(key))
      this.#record(
        registryEvent(
          this.identity,
          process,
          { kind: 'CreateKey', targetObject: this.#sysmonKey(key) },
          behaviour,
        ),
      );
    this.registry.setValue(key, name, data);
    this.#record(
      registryEvent(
        this.identity,
        process,
        { kind: 'SetValue', targetObject: `${this.#sysmonKey(key)}\\${name}`, details },
        behaviour,
      ),
    );
  }

  /**
   * One SSH connection. The lab is Win32-OpenSSH 9.5 (its ident and preflight's version), which, like the
   * in-box 7.7 and 8.x, serves each connection in a child sshd.exe running as the user (Win32-OpenSSH #1023);
   * sshd-session.exe exists only from 9.8. The child's own switches are not modelled.
   */
  openSession(): WindowsProcess {
    return this.#spawn(
      'C:\\Windows\\System32\\OpenSSH\\sshd.exe',
      '"C:\\Windows\\System32\\OpenSSH\\sshd.exe"',
      this.#sshd,
      'scaffolding',
    );
  }

  closeSession(session: WindowsProcess): void {
    this.processes.exit(session);
  }

  /** The sftp subsystem runs through the default shell too, as sftp-server.exe. */
  startSftpServer(session: WindowsProcess): WindowsProcess {
    return this.#spawn(
      'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
      'sftp-server.exe',
      session,
      'scaffolding',
    );
  }

  /** A program that starts and exits at once (eventcreate.exe for the canary), recorded like any other. */
  /**
   * cmstp.exe's own RAS set-up, as the OTRF /au recording shows cmstp.exe (not the surrogate) doing it: the
   * tracing defaults under HKLM\\SOFTWARE\\Microsoft\\Tracing\\CMSTP (Sysmon 12/13) and the all-users phonebook
   * Pbk\\rasphone.pbk (Sysmon 11). Both are machine-wide and stay after the profile is gone. Written once per
   * host; that the single-user path does the same is an inference (cmstp.exe writes them, not the surrogate).
   */
  #rasSetUp(cmstp: WindowsProcess): void {
    if (!this.registry.exists(tracingKey))
      for (const [name, value, details] of tracingDefaults)
        this.#setValue(cmstp, tracingKey, name, value, 'scaffolding', details);
    if (!this.drive.exists(phonebookDir)) {
      this.drive.mkdirp(phonebookDir);
      this.#record(fileCreate(this.identity, cmstp, phonebookDir, new Date(), 'scaffolding'));
    }
    const phonebook = `${phonebookDir}\\rasphone.pbk`;
    if (!this.drive.exists(phonebook)) this.writeFileAs(cmstp, phonebook, Buffer.alloc(0), 'scaffolding');
  }

  /** Ends a process (TerminateProcess): one that hangs stops hanging; any other just ends. */
  kill(pid: number): void {
    const release = this.#hung.get(pid);
    this.#hung.delete(pid);
    release?.();
    const process = this.processes.byPid(pid);
    if (process !== undefined) this.processes.exit(process);
  }

  /**
   * A folder's security; null when there is no such folder. Unless set, a folder is owned by the account that
   * made it (Windows' default owner for an elevated administrator's objects is the account itself) and
   * inherits ProgramData's entries.
   */
  securityOf(path: string): FolderSecurity | null {
    if (!this.drive.isDir(path)) return null;
    return (
      this.#folderSecurity.get(path.toLowerCase()) ?? {
        owner: this.identity.userSid,
        protected: false,
        aces: [...programDataAces],
      }
    );
  }

  /** Sets a folder's security (icacls, or a test planting a folder another account made). */
  setSecurity(path: string, security: FolderSecurity): void {
    this.#folderSecurity.set(path.toLowerCase(), security);
  }

  /**
   * icacls PATH [/inheritance:r] [/grant:r SID:(OI)(CI)F ...]: drops the inherited entries and protects the
   * DACL, then replaces each named SID's explicit entries with full control (learn.microsoft.com, "icacls").
   */
  applyIcacls(
    path: string,
    change: { readonly removeInherited: boolean; readonly fullControl: readonly string[] },
  ): void {
    const security = this.securityOf(path);
    if (security === null) throw new Error(`no folder ${path}`);
    const granted = new Set(change.fullControl.map(sddlSid));
    const kept = security.aces.filter((ace) => {
      const [, flags = '', , , , sid = ''] = ace.slice(1, -1).split(';');
      return !(change.removeInherited && flags.includes('ID')) && !granted.has(sid);
    });
    this.setSecurity(path, {
      owner: security.owner,
      protected: security.protected || change.removeInherited,
      aces: [...kept, ...[...granted].map((sid) => `(A;OICI;FA;;;${sid})`)],
    });
  }

  /** The folder's security as Get-Acl's Sddl property prints it. */
  sddlOf(path: string): string | null {
    const security = this.securityOf(path);
    if (security === null) return null;
    return `O:${sddlSid(security.owner)}G:SYD:${security.protected ? 'PAI' : 'AI'}${security.aces.join('')}`;
  }

  runProgram(
    parent: WindowsProcess,
    image: string,
    commandLine: string,
    behaviour: Behaviour,
    pid?: number,
  ): WindowsProcess {
    const process = this.#spawn(image, commandLine, parent, behaviour, undefined, pid);
    this.processes.exit(process);
    return process;
  }

  writeFileAs(process: WindowsProcess, path: string, content: Buffer, behaviour: Behaviour): void {
    const existed = this.drive.exists(path);
    this.drive.writeFile(path, content);
    // Sysmon 11 fires when a file is created, not when it is overwritten.
    if (!existed) this.#record(fileCreate(this.identity, process, path, new Date(), behaviour));
  }

  /** An exec request: sshd wraps the string as `cmd.exe /c "<string>"` (windows-remote.md 1.1). */
  async exec(
    session: WindowsProcess,
    command: string,
    runner: (call: OperationCall) => OperationRunner,
  ): Promise<ExecOutcome> {
    const cmd = this.#spawn(
      `${system32}\\cmd.exe`,
      `"c:\\windows\\system32\\cmd.exe" /c "${command}"`,
      session,
      'scaffolding',
    );
    try {
      const ps = /^powershell(?:\.exe)?\s+(.*)$/i.exec(command.trim());
      if (!ps) {
        const first = command.trim().split(/\s+/)[0] ?? '';
        return {
          stdout: '',
          stderr: `'${first}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`,
          exitCode: 1,
        };
      }
      const source = this.#scriptOf(ps[1] ?? '');
      if (source === undefined)
        return {
          stdout: '',
          stderr: 'purple-harness lab: only -EncodedCommand and -File helpers are modelled\r\n',
          exitCode: 1,
        };
      const operation = operationHeader.exec(source.script)?.[1];
      if (operation === undefined) {
        return {
          stdout: '',
          stderr:
            '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">The script is not a purple-harness remote operation._x000D__x000A_</S></Objs>',
          exitCode: 1,
        };
      }
      const params = new Map<string, string>();
      for (const match of source.script.matchAll(/^\$Ph(\w+) = '((?:[^']|'')*)'\r?$/gm)) {
        params.set(match[1] ?? '', (match[2] ?? '').replaceAll("''", "'"));
      }
      const run = runner({ operation, params, ...source });
      const powershell = this.#spawn(
        `${system32}\\WindowsPowerShell\\v1.0\\powershell.exe`,
        command.trim(),
        cmd,
        'scaffolding',
        undefined,
        run.pid,
      );
      const start = Date.now();
      try {
        return await run.run(powershell);
      } finally {
        this.activity.push({ operation, marker: params.get('Marker') ?? null, start, end: Date.now() });
        this.processes.exit(powershell);
      }
    } finally {
      this.processes.exit(cmd);
    }
  }

  /** The purple-harness operation an exec string carries, if it is one of our helpers. */
  operationOf(command: string): string | undefined {
    const ps = /^powershell(?:\.exe)?\s+(.*)$/i.exec(command.trim());
    const source = ps ? this.#scriptOf(ps[1] ?? '') : undefined;
    return source === undefined ? undefined : operationHeader.exec(source.script)?.[1];
  }

  /** The script a PowerShell command line runs: -EncodedCommand (UTF-16LE base64) or -File (a .ps1 on disk). */
  #scriptOf(argumentsText: string): { script: string; file: string | null } | undefined {
    const encoded = /(?:^|\s)-(?:EncodedCommand|enc|ec|e)\s+([A-Za-z0-9+/=]+)/i.exec(argumentsText)?.[1];
    if (encoded !== undefined)
      return { script: Buffer.from(encoded, 'base64').toString('utf16le'), file: null };
    const file = /(?:^|\s)-File\s+(?:"([^"]+)"|(\S+))/i.exec(argumentsText);
    const path = file?.[1] ?? file?.[2];
    if (path === undefined) return undefined;
    const content = this.drive.get(path)?.content;
    return content === undefined
      ? undefined
      : { script: content.toString('utf8').replace(/^\uFEFF/, ''), file: path };
  }

  /**
   * cmstp.exe semantics: read the INF, pick the install section, carry out advpack's directives.
   * Single-user installs run everything inside cmstp.exe; /au hands the install to the elevated CMSTPLUA
   * COM surrogate (DllHost.exe, started by DcomLaunch), as in the OTRF recording.
   */
  async runCmstp(
    parent: WindowsProcess,
    argumentsText: string,
    pid?: number,
    onStart?: (cmstp: WindowsProcess) => void,
  ): Promise<{ process: WindowsProcess; exitCode: number }> {
    const cmstp = this.#spawn(
      `${system32}\\cmstp.exe`,
      `"${system32}\\cmstp.exe" ${argumentsText}`,
      parent,
      'cmstp-exec',
      undefined,
      pid,
    );
    onStart?.(cmstp);
    try {
      const tokens = splitArguments(argumentsText);
      const flags = tokens.filter((t) => t.startsWith('/')).map((t) => t.toLowerCase());
      const infPath = tokens.filter((t) => !t.startsWith('/')).pop();
      if (infPath === undefined) return { process: cmstp, exitCode: 1 };
      // Given an INF by URL, cmstp is seen to start and do nothing more: the one public sample of
      // `cmstp /ni /s https://...` has no fetch, no child and no install (cmstp-telemetry.md 1.1). Its exit
      // code is recorded nowhere public; cmstp cannot open the URL as a file.
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(infPath)) return { process: cmstp, exitCode: exitFileNotFound };
      const file = this.drive.get(throughAdminShare(infPath));
      if (!file || file.dir) return { process: cmstp, exitCode: exitFileNotFound };
      // Without /s cmstp first asks for confirmation in a dialog; on a session with no desktop nobody can
      // answer it, so nothing is installed and cmstp waits until it is killed (cmstp-telemetry.md 1.1).
      if (!flags.includes('/s')) return { process: cmstp, exitCode: await this.#untilKilled(cmstp) };
      const allUsers = flags.includes('/au');
      if (flags.includes('/u'))
        return {
          process: cmstp,
          exitCode: this.#cmstp.uninstallExitCode ?? this.#uninstall(cmstp, file.content),
        };
      let plan: InstallPlan;
      try {
        plan = planInstall(parseInf(file.content.toString('latin1')), allUsers);
      } catch (error) {
        if (error instanceof InfError) return { process: cmstp, exitCode: exitInvalidData };
        throw error;
      }
      for (const dll of ['cmutil.dll', 'cmcfg32.dll', 'rasapi32.dll'])
        this.#record(imageLoad(this.identity, cmstp, `${system32}\\${dll}`, 'scaffolding'));
      this.#rasSetUp(cmstp);
      const installer = allUsers ? this.#elevate(cmstp, plan) : cmstp;
      for (const write of plan.addReg) {
        const root = write.root === 'HKLM' ? 'HKLM:' : write.root === 'HKCU' ? 'HKCU:' : null;
        if (root !== null)
          this.#setValue(
            installer,
            `${root}\\${write.subkey}`,
            write.valueName,
            write.data,
            'profile-registry',
          );
      }
      for (const command of plan.preSetupCommands) this.#runCommand(installer, command, infCallTrace);
      for (const entry of [...plan.unregisterOcxs, ...plan.registerOcxs]) await this.#loadOcx(cmstp, entry);
      if (installer !== cmstp) this.processes.exit(installer);
      if (this.#cmstp.hang === true) return { process: cmstp, exitCode: await this.#untilKilled(cmstp) };
      if (this.#cmstp.installMs !== undefined)
        await new Promise((resolve) => setTimeout(resolve, this.#cmstp.installMs));
      return { process: cmstp, exitCode: this.#cmstp.installExitCode ?? 0 };
    } finally {
      this.processes.exit(cmstp);
    }
  }

  /** Hangs until the process is killed; TerminateProcess with .NET's Kill() leaves exit code -1. */
  async #untilKilled(process: WindowsProcess): Promise<number> {
    await new Promise<void>((resolve) => this.#hung.set(process.pid, resolve));
    return -1;
  }

  /**
   * `cmstp /s /u profile.inf`: removes the profile the INF names (its folders and its Mappings value). The
   * install sections' commands do not run again. An INF that names no profile is invalid data to cmstp.
   */
  #uninstall(cmstp: WindowsProcess, inf: Buffer): number {
    let plan: InstallPlan;
    try {
      plan = planInstall(parseInf(inf.toString('latin1')), false);
    } catch (error) {
      if (error instanceof InfError) return exitInvalidData;
      throw error;
    }
    const names = [plan.serviceName, plan.shortSvcName].filter((n): n is string => n !== null);
    if (names.length === 0) return exitInvalidData;
    for (const name of names) {
      for (const folder of [
        `${this.profileDir}\\AppData\\Roaming\\Microsoft\\Network\\Connections\\Cm\\${name}`,
        `${allUsersProfileRoot}\\${name}`,
      ]) {
        if (this.drive.exists(folder)) this.drive.removeTree(folder);
      }
      if (this.registry.removeValue(mappingsKey, name)) {
        this.#record(
          registryEvent(
            this.identity,
            cmstp,
            { kind: 'DeleteValue', targetObject: `${this.#sysmonKey(mappingsKey)}\\${name}` },
            'scaffolding',
          ),
        );
      }
    }
    return 0;
  }

  /**
   * A direct ICMLuaUtil.ShellExec call: the caller loads the CM helpers, DcomLaunch starts the CMSTPLUA
   * surrogate, and the surrogate starts the command as its elevated child (UACME method 41's telemetry).
   */
  comShellExec(caller: WindowsProcess, commandLine: string): void {
    const surrogate = this.#startSurrogate(caller, ['cmstplua.dll', 'cmlua.dll']);
    this.#runCommand(surrogate, commandLine, shellExecCallTrace);
    this.processes.exit(surrogate);
  }

  /**
   * The caller loads the CM helpers (client side of the COM call), DcomLaunch starts the CMSTPLUA surrogate,
   * and the surrogate loads `dlls`; the CM admin helpers among them record com-elevation.
   */
  #startSurrogate(caller: WindowsProcess, dlls: readonly string[]): WindowsProcess {
    for (const dll of ['cmlua.dll', 'cmstplua.dll'])
      this.#record(imageLoad(this.identity, caller, `${system32}\\${dll}`, 'scaffolding'));
    // Image and command line as the OTRF recording has them (Sysmon 1 and 4688 alike): the image path in
    // its on-disk case, the command line as DcomLaunch builds it.
    const surrogate = this.#spawn(
      `${system32}\\dllhost.exe`,
      `C:\\windows\\system32\\DllHost.exe /Processid:${cmstpLuaClsid}`,
      this.#dcomLaunch,
      'com-elevation',
    );
    for (const dll of dlls) {
      const behaviour = dll === 'cmlua.dll' || dll === 'cmstplua.dll' ? 'com-elevation' : 'scaffolding';
      this.#record(imageLoad(this.identity, surrogate, `${system32}\\${dll}`, behaviour));
    }
    return surrogate;
  }

  /** The /au path: DcomLaunch starts the CMSTPLUA surrogate, which registers the all-users profile. */
  #elevate(cmstp: WindowsProcess, plan: InstallPlan): WindowsProcess {
    const surrogate = this.#startSurrogate(cmstp, [
      'cmutil.dll',
      'cmstplua.dll',
      'cmlua.dll',
      'advpack.dll',
      'setupapi.dll',
    ]);
    this.#setValue(surrogate, appPathsKey, 'ProfileInstallPath', allUsersProfileRoot, 'profile-registry');
    const folder = `${allUsersProfileRoot}\\${plan.shortSvcName ?? 'profile'}`;
    if (!this.drive.exists(folder)) {
      this.drive.mkdirp(folder);
      this.#record(fileCreate(this.identity, surrogate, folder, new Date(), 'scaffolding'));
    }
    return surrogate;
  }

  /** Runs one INF command line. Only the benign catalogue's effects are modelled; anything else just starts and exits. */
  #runCommand(parent: WindowsProcess, commandLine: string, callTrace = infCallTrace): void {
    const first = splitArguments(commandLine)[0] ?? '';
    const image = first.includes('\\')
      ? first
      : `${system32}\\${first.toLowerCase().endsWith('.exe') ? first : `${first}.exe`}`;
    const child = this.#spawn(image, commandLine, parent, 'child-process');
    if (parent.image.toLowerCase().endsWith('\\dllhost.exe')) {
      this.#record(processAccess(this.identity, parent, child, callTrace, 'com-elevation'));
    }
    // A console program started by one with no console (cmstp, the surrogate) gets its own console host, as
    // the OTRF recording shows for the surrogate's cmd.exe.
    const host = /\\cmd\.exe$/i.test(child.image)
      ? this.#spawn(
          `${system32}\\conhost.exe`,
          '\\??\\C:\\windows\\system32\\conhost.exe 0xffffffff -ForceV1',
          child,
          'scaffolding',
        )
      : null;
    try {
      const echo = /^cmd(?:\.exe)?\s+\/c\s+echo\s+(.*?)>\s*(\S.*)$/i.exec(commandLine);
      if (echo?.[2] !== undefined) {
        const target = echo[2].trim();
        if (this.drive.isDir(parentDir(target)))
          this.writeFileAs(child, target, Buffer.from(`${echo[1] ?? ''}\r\n`), 'child-process');
      }
    } finally {
      if (host !== null) this.processes.exit(host);
      this.processes.exit(child);
    }
  }

  /**
   * (Un)RegisterOCXs: advpack loads the DLL into cmstp. For scrobj.dll with the NI flags and a URL or path,
   * it hands the location to DllInstall, which downloads and runs the scriptlet ("Squiblydoo").
   */
  async #loadOcx(cmstp: WindowsProcess, entry: OcxEntry): Promise<void> {
    this.#record(
      imageLoad(
        this.identity,
        cmstp,
        entry.dll,
        entry.dll.toLowerCase().endsWith('\\scrobj.dll') ? 'scriptlet-load' : 'scaffolding',
      ),
    );
    if (!entry.dll.toLowerCase().endsWith('\\scrobj.dll') || entry.argument === '') return;
    let scriptlet: string | null;
    if (/^https?:\/\//i.test(entry.argument)) {
      scriptlet = await this.#download(cmstp, new URL(entry.argument));
    } else {
      scriptlet = this.drive.get(throughAdminShare(entry.argument))?.content.toString('utf8') ?? null;
    }
    if (scriptlet === null) return;
    // The scriptlet's WScript.Shell.Run("...") starts its command as a child of cmstp.exe.
    const run = /\.Run\(\s*("(?:[^"\\]|\\.)*")/.exec(scriptlet)?.[1];
    if (run !== undefined) this.#runCommand(cmstp, JSON.parse(run) as string);
  }

  async #download(cmstp: WindowsProcess, url: URL): Promise<string | null> {
    const hostname = url.hostname;
    const literal = /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
    const ip = literal ? hostname : (this.#network?.resolve(hostname) ?? null);
    if (!literal) this.#record(dnsQuery(this.identity, cmstp, hostname, ip));
    if (ip === null || !this.#network) return null;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    // Sysmon names the destination by a reverse lookup; for an IP-literal URL it has none to give (empty).
    this.#record(networkConnect(this.identity, cmstp, { hostname: literal ? '' : hostname, ip, port }));
    try {
      const response = await this.#network.fetch(url, ip);
      if (response.status !== 200) return null;
      const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1).replace(/\.sct$/i, '');
      // WinINet caches the download as name[1].sct (ART's SCT comment; cmstp-telemetry.md 1.3).
      this.writeFileAs(
        cmstp,
        `${this.profileDir}\\AppData\\Local\\Microsoft\\Windows\\INetCache\\IE\\Q7W2K1ZD\\${name}[1].sct`,
        Buffer.from(response.body),
        'scaffolding',
      );
      return response.body;
    } catch {
      return null;
    }
  }
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
