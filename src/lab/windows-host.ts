import { createHash } from 'node:crypto';
import { InfError, parseInf, planInstall } from './inf.js';
import { fileCreate, processCreate, type Behaviour, type HostIdentity, type LabEvent } from './sysmon.js';
import {
  newGuid,
  parentDir,
  ProcessTable,
  Registry,
  VirtualDrive,
  type WindowsProcess,
} from './windows-model.js';

export interface ExecOutcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface HostOptions {
  readonly computer: string;
  readonly username: string;
  readonly emit: (event: LabEvent) => void;
}

const system32 = 'C:\\Windows\\System32';
const cmstpLuaClsid = '{3E5FC7F9-9A51-4367-9063-A120244FBEC7}';
/** HRESULTs cmstp reports, as 32-bit unsigned values the way sshd passes them on. */
const exitFileNotFound = 0x80070002;
const exitInvalidData = 0x8007000d;

/**
 * A Windows host as far as the harness can tell over SSH: cmd.exe as sshd's default shell, PowerShell
 * helpers sent with -EncodedCommand, a C: drive, a registry, processes, and Sysmon watching all of it.
 */
export class SimulatedWindowsHost {
  readonly drive = new VirtualDrive([system32, 'C:\\ProgramData', 'C:\\Users']);
  readonly processes = new ProcessTable();
  readonly registry = new Registry();
  readonly identity: HostIdentity;
  readonly user: string;
  readonly profileDir: string;
  readonly #emit: (event: LabEvent) => void;
  readonly #sshd: WindowsProcess;
  readonly #dcomLaunch: WindowsProcess;

  constructor(options: HostOptions) {
    this.identity = { computer: options.computer, logonGuid: newGuid(), logonId: '0x3e7a1c' };
    this.user = `${options.computer.split('.')[0]?.toUpperCase() ?? 'WIN'}\\${options.username}`;
    this.profileDir = `C:\\Users\\${options.username}`;
    this.drive.mkdirp(`${this.profileDir}\\AppData\\Roaming\\Microsoft\\Network\\Connections`);
    this.#emit = options.emit;
    this.#sshd = this.processes.system(
      'C:\\Windows\\System32\\OpenSSH\\sshd.exe',
      'C:\\Windows\\System32\\OpenSSH\\sshd.exe',
    );
    this.#dcomLaunch = this.processes.system(
      'C:\\Windows\\system32\\svchost.exe',
      'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p',
    );
  }

  #spawn(
    image: string,
    commandLine: string,
    parent: WindowsProcess,
    behaviour: Behaviour,
    integrity?: WindowsProcess['integrityLevel'],
  ): WindowsProcess {
    const process = this.processes.spawn({
      image,
      commandLine,
      parent,
      user: this.user,
      integrityLevel: integrity ?? 'High',
      currentDirectory: `${this.profileDir}\\`,
    });
    this.#emit(processCreate(this.identity, process, behaviour));
    return process;
  }

  /** One SSH connection: Win32-OpenSSH 9.8+ runs it in its own sshd-session.exe. */
  openSession(): WindowsProcess {
    return this.#spawn(
      'C:\\Windows\\System32\\OpenSSH\\sshd-session.exe',
      '"C:\\Windows\\System32\\OpenSSH\\sshd-session.exe" -R',
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

  writeFileAs(process: WindowsProcess, path: string, content: Buffer, behaviour: Behaviour): void {
    const existed = this.drive.exists(path);
    this.drive.writeFile(path, content);
    // Sysmon 11 fires when a file is created, not when it is overwritten.
    if (!existed) this.#emit(fileCreate(this.identity, process, path, new Date(), behaviour));
  }

  /** An exec request: sshd wraps the string as `cmd.exe /c "<string>"` (windows-remote.md 1.1). */
  exec(
    session: WindowsProcess,
    command: string,
    run: (operation: string, params: ReadonlyMap<string, string>, shell: WindowsProcess) => ExecOutcome,
  ): ExecOutcome {
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
      const encoded = /(?:^|\s)-(?:EncodedCommand|enc|ec|e)\s+([A-Za-z0-9+/=]+)/i.exec(ps[1] ?? '')?.[1];
      const powershell = this.#spawn(
        `${system32}\\WindowsPowerShell\\v1.0\\powershell.exe`,
        command.trim(),
        cmd,
        'scaffolding',
      );
      try {
        if (encoded === undefined)
          return {
            stdout: '',
            stderr: 'purple-harness lab: only -EncodedCommand helpers are modelled\r\n',
            exitCode: 1,
          };
        const script = Buffer.from(encoded, 'base64').toString('utf16le');
        const operation = /^# purple-harness remote operation: ([a-z-]+) v1$/m.exec(script)?.[1];
        if (operation === undefined) {
          return {
            stdout: '',
            stderr:
              '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">The script is not a purple-harness remote operation._x000D__x000A_</S></Objs>',
            exitCode: 1,
          };
        }
        const params = new Map<string, string>();
        for (const match of script.matchAll(/^\$Ph(\w+) = '((?:[^']|'')*)'\r?$/gm)) {
          params.set(match[1] ?? '', (match[2] ?? '').replaceAll("''", "'"));
        }
        return run(operation, params, powershell);
      } finally {
        this.processes.exit(powershell);
      }
    } finally {
      this.processes.exit(cmd);
    }
  }

  /**
   * cmstp.exe semantics: read the INF, pick the install section, run RunPreSetupCommands one after another.
   * Single-user installs run them as children of cmstp.exe; /au runs them in the elevated CMSTPLUA
   * COM surrogate (DllHost.exe) started by DcomLaunch, as in the OTRF recording.
   */
  runCmstp(parent: WindowsProcess, argumentsText: string): { process: WindowsProcess; exitCode: number } {
    const cmstp = this.#spawn(
      `${system32}\\cmstp.exe`,
      `"${system32}\\cmstp.exe" ${argumentsText}`,
      parent,
      'cmstp-exec',
    );
    try {
      const tokens = argumentsText.split(/\s+/).filter(Boolean);
      const flags = tokens.filter((t) => t.startsWith('/')).map((t) => t.toLowerCase());
      const infPath = tokens.filter((t) => !t.startsWith('/')).pop();
      if (infPath === undefined) return { process: cmstp, exitCode: 1 };
      const file = this.drive.get(infPath);
      if (!file || file.dir) return { process: cmstp, exitCode: exitFileNotFound };
      let plan;
      try {
        plan = planInstall(parseInf(file.content.toString('latin1')), flags.includes('/au'));
      } catch (error) {
        if (error instanceof InfError) return { process: cmstp, exitCode: exitInvalidData };
        throw error;
      }
      let host = cmstp;
      if (flags.includes('/au')) {
        host = this.#spawn(
          `${system32}\\DllHost.exe`,
          `C:\\Windows\\system32\\DllHost.exe /Processid:${cmstpLuaClsid}`,
          this.#dcomLaunch,
          'com-elevation',
        );
      }
      for (const command of plan.preSetupCommands) this.#runCommand(host, command);
      if (host !== cmstp) this.processes.exit(host);
      return { process: cmstp, exitCode: 0 };
    } finally {
      this.processes.exit(cmstp);
    }
  }

  /** Runs one INF command line. Only the benign catalogue's effects are modelled; anything else just starts and exits. */
  #runCommand(parent: WindowsProcess, commandLine: string): void {
    const first = commandLine.split(/\s+/)[0] ?? '';
    const image = first.includes('\\')
      ? first
      : `${system32}\\${first.toLowerCase().endsWith('.exe') ? first : `${first}.exe`}`;
    const child = this.#spawn(image, commandLine, parent, 'child-process');
    try {
      const echo = /^cmd(?:\.exe)?\s+\/c\s+echo\s+(.*?)>\s*(\S.*)$/i.exec(commandLine);
      if (echo?.[2] !== undefined) {
        const target = echo[2].trim();
        if (this.drive.isDir(parentDir(target)))
          this.writeFileAs(child, target, Buffer.from(`${echo[1] ?? ''}\r\n`), 'child-process');
      }
    } finally {
      this.processes.exit(child);
    }
  }
}

/** The purple-harness operation an exec string carries, if it is an encoded helper. */
export function operationOf(command: string): string | undefined {
  const encoded = /(?:^|\s)-(?:EncodedCommand|enc|ec|e)\s+([A-Za-z0-9+/=]+)/i.exec(command)?.[1];
  if (encoded === undefined) return undefined;
  return /^# purple-harness remote operation: ([a-z-]+) v1$/m.exec(
    Buffer.from(encoded, 'base64').toString('utf16le'),
  )?.[1];
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
