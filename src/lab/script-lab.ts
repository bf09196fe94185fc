import { randomBytes, timingSafeEqual } from 'node:crypto';
import { windowsBaseName } from '../util/winpath.js';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { errorMessage } from '../core/index.js';
import { packageRoot } from '../util/paths.js';
import { leafProgramPaths, leafPrograms, type LeafProgram } from './leaf-programs.js';
import {
  labServices,
  type OperationCall,
  type OperationRunner,
  type SimulatedWindowsHost,
} from './windows-host.js';
import { DiskDrive } from './windows-model.js';

/*
 * The script-executing lab target (#15): the harness's remote scripts run, unmodified, in a real PowerShell
 * behind the lab's SSH server. What Linux lacks (the registry, Win32_Process, services, cmstp.exe and the
 * other Windows programs, Sysmon) comes from the simulated Windows model through lab-leaves/, so the model
 * still records the telemetry; everything else (parsing, cmdlets and their parameters, the file system,
 * .NET, JSON, exit codes) is PowerShell's own.
 */

const leavesDir = (): string => join(packageRoot(), 'lab-leaves');

/** A C: drive in a fresh folder, for a host that runs its scripts for real; removed by the lab's close. */
export function scriptLabDrive(): DiskDrive {
  return new DiskDrive(join(mkdtempSync(join(tmpdir(), 'ph-script-lab-')), 'C'), []);
}

/**
 * How to start `pwsh` so that the process we start is PowerShell itself: a .NET global tool's `pwsh` is a
 * launcher that runs `dotnet pwsh.dll` as its child, and the model's powershell.exe must have the $PID the
 * script sees (its leaf programs name it as their parent).
 */
function pwshCommand(pwsh: string): Promise<readonly string[]> {
  let found = pwshCommands.get(pwsh);
  if (found === undefined) {
    found = findPwshCommand(pwsh);
    pwshCommands.set(pwsh, found);
  }
  return found;
}
const pwshCommands = new Map<string, Promise<readonly string[]>>();

async function findPwshCommand(pwsh: string): Promise<readonly string[]> {
  const { stdout } = await execa(pwsh, [
    '-NoProfile',
    '-NonInteractive',
    '-Command',
    '[Environment]::ProcessPath; [Environment]::GetCommandLineArgs()[0]',
  ]);
  const [exe, dll] = stdout.split(/\r?\n/).map((line) => line.trim());
  if (exe === undefined || exe === '') throw new Error(`${pwsh} did not say where it runs from`);
  return /(^|\/)dotnet$/.test(exe) && dll !== undefined ? [exe, dll] : [pwsh];
}

export interface ScriptLab {
  /** What the SSH server hands each remote operation to: a real PowerShell running its script. */
  readonly runner: (call: OperationCall) => OperationRunner;
  close(): Promise<void>;
}

/** What the leaves (lab-leaves/) send: our own scripts, but parsed like any input from outside the process. */
const RegistryRequest = z.object({
  op: z.enum(['get', 'remove-key', 'remove-value']),
  path: z.string(),
  name: z.string().optional(),
});
const StopRequest = z.object({ id: z.number().int() });
const AclRequest = z.object({ path: z.string() });
const ComRequest = z.object({ file: z.string(), parameters: z.string(), ppid: z.number().int() });
const ProgramRequest = z.object({
  program: z.string(),
  argv: z.array(z.string()),
  pid: z.number().int(),
  ppid: z.number().int(),
});

function readJson(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The shell wrappers that start lab-leaves/leaf.mjs as each Windows program, at its Windows path. */
function installPrograms(drive: DiskDrive, binDir: string): void {
  mkdirSync(binDir, { recursive: true });
  for (const [program, windowsPath] of Object.entries(leafProgramPaths)) {
    const path = windowsPath === null ? join(binDir, program) : drive.local(windowsPath);
    mkdirSync(join(path, '..'), { recursive: true });
    const leaf = join(leavesDir(), 'leaf.mjs');
    writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${leaf}' '${program}' "$@"\n`);
    chmodSync(path, 0o755);
  }
}

/**
 * Starts the leaves service for `host` (whose drive must be a DiskDrive) and returns the runner that gives
 * each remote operation to `pwsh`.
 */
export async function startScriptLab(
  host: SimulatedWindowsHost,
  drive: DiskDrive,
  pwsh: string,
): Promise<ScriptLab> {
  const [exe = pwsh, ...exeArgs] = await pwshCommand(pwsh);
  const root = join(drive.root, '..');
  const binDir = join(root, 'bin');
  installPrograms(drive, binDir);
  const token = randomBytes(24).toString('hex');
  /** Processes that exist for real (PowerShell, leaf programs): Stop-Process kills them for real too. */
  const realPids = new Set<number>();

  /** `closed` aborts when the caller hangs up first: a leaf program killed while it waits. */
  const leaves: Record<string, (body: unknown, closed: AbortSignal) => unknown> = {
    registry: (body) => {
      const { op, path, name } = RegistryRequest.parse(body);
      switch (op) {
        case 'get':
          return { exists: host.registry.exists(path), values: host.registry.values(path) };
        case 'remove-key':
          host.registry.removeKey(path);
          return true;
        case 'remove-value':
          return host.registry.removeValue(path, name ?? '');
      }
    },
    processes: () =>
      host.processes.running().map((p) => ({
        ProcessId: p.pid,
        ParentProcessId: p.parent?.pid ?? 0,
        Name: windowsBaseName(p.image),
        CommandLine: p.commandLine,
        ExecutablePath: p.image,
      })),
    'stop-process': (body) => {
      const target = host.processes.byPid(StopRequest.parse(body).id);
      if (target === undefined) return false;
      if (realPids.has(target.pid)) {
        try {
          process.kill(target.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      host.kill(target.pid);
      return true;
    },
    'com-shellexec': (body) => {
      const { file, parameters, ppid } = ComRequest.parse(body);
      const caller = host.processes.byPid(ppid);
      if (caller === undefined) throw new Error(`the caller ${String(ppid)} is not a process of the model`);
      host.comShellExec(caller, `${file}${parameters === '' ? '' : ` ${parameters}`}`);
      return 0;
    },
    acl: (body) => {
      const path = AclRequest.parse(body).path;
      const windows = drive.windows(path) ?? path;
      const security = host.securityOf(windows);
      if (security === null) throw new Error(`Cannot find path '${path}' because it does not exist.`);
      return { owner: security.owner, sddl: host.sddlOf(windows) };
    },
    services: () => labServices.map((s) => ({ Name: s.name, DisplayName: s.displayName, Status: 'Running' })),
    program: async (body, closed) => {
      const request = ProgramRequest.parse(body);
      const program = request.program;
      if (!Object.hasOwn(leafPrograms, program)) throw new Error(`no program ${program} is modelled`);
      const parent = host.processes.byPid(request.ppid);
      if (parent === undefined)
        throw new Error(`its parent ${String(request.ppid)} is not a process of the model`);
      // Paths a script took from .FullName are this machine's; the program sees them as C:\... again.
      const argv = request.argv.map((a) => drive.windows(a) ?? a);
      realPids.add(request.pid);
      try {
        // A program killed for real (Process.Kill, Stop-Process) hangs up: the model's process ends too.
        closed.addEventListener('abort', () => {
          host.kill(request.pid);
        });
        return await leafPrograms[program as LeafProgram]({ host, parent, argv, pid: request.pid });
      } finally {
        realPids.delete(request.pid);
      }
    },
  };

  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((request, response) => {
    const presented = Buffer.from(request.headers.authorization ?? '');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      answer(response, 401, { error: 'unauthorized' });
      return;
    }
    const name = (request.url ?? '').slice(1);
    const hungUp = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) hungUp.abort();
    });
    void readJson(request)
      .then(async (body) => {
        const leaf = leaves[name];
        if (leaf === undefined) throw new Error(`no leaf ${name}`);
        answer(response, 200, { result: await leaf(body, hungUp.signal) });
      })
      .catch((error: unknown) => {
        answer(response, 200, { error: errorMessage(error) });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  const windowsEnv = {
    SystemRoot: 'C:\\Windows',
    windir: 'C:\\Windows',
    ProgramData: 'C:\\ProgramData',
    USERPROFILE: host.profileDir,
    APPDATA: `${host.profileDir}\\AppData\\Roaming`,
    LOCALAPPDATA: `${host.profileDir}\\AppData\\Local`,
    TEMP: `${host.profileDir}\\AppData\\Local\\Temp`,
    USERNAME: host.identity.userName,
    USERDOMAIN: host.identity.domain,
    PH_USER_SID: host.identity.userSid,
    COMPUTERNAME: host.identity.domain,
  };
  drive.mkdirp(windowsEnv.TEMP);

  const runner = (call: OperationCall): OperationRunner => {
    // -EncodedCommand runs the text at the top level; -File runs the file as a script (its own scope).
    const command =
      call.file === null
        ? '. $env:PH_LEAVES; try { $PhLabScript = [scriptblock]::Create($env:PH_SCRIPT) } catch { [Console]::Error.WriteLine($_.ToString()); exit 1 }; . $PhLabScript; exit [int](-not $?)'
        : '. $env:PH_LEAVES; try { & $env:PH_SCRIPT_FILE } catch { [Console]::Error.WriteLine($_.ToString()); exit 1 }; exit $LASTEXITCODE';
    const child = execa(
      exe,
      [...exeArgs, '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', command],
      {
        cwd: drive.local(host.profileDir),
        extendEnv: false,
        env: {
          PATH: `${binDir}:/usr/local/bin:/usr/bin:/bin`,
          HOME: process.env.HOME ?? root,
          ...(process.env.DOTNET_ROOT === undefined ? {} : { DOTNET_ROOT: process.env.DOTNET_ROOT }),
          POWERSHELL_TELEMETRY_OPTOUT: '1',
          POWERSHELL_UPDATECHECK: 'Off',
          ...windowsEnv,
          PH_LAB_DRIVE_C: drive.root,
          PH_LEAVES: join(leavesDir(), 'windows-leaves.ps1'),
          PH_LEAVES_URL: url,
          PH_LEAVES_TOKEN: token,
          ...(call.file === null ? { PH_SCRIPT: call.script } : { PH_SCRIPT_FILE: call.file }),
        },
        stdin: 'ignore',
        reject: false,
        stripFinalNewline: false,
        timeout: 300_000,
      },
    );
    const pid = child.pid;
    return {
      ...(pid === undefined ? {} : { pid }),
      run: async () => {
        if (pid !== undefined) realPids.add(pid);
        try {
          const result = await child;
          return {
            stdout: result.stdout,
            stderr: result.stderr,
            exitCode: typeof result.exitCode === 'number' ? result.exitCode : 1,
          };
        } finally {
          if (pid !== undefined) realPids.delete(pid);
        }
      },
    };
  };

  return {
    runner,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
