import { errorMessage } from '../core/index.js';
import type { ExecOutcome, SimulatedWindowsHost } from './windows-host.js';
import { allUsersProfileRoot, mappingsKey, sha256Hex } from './windows-host.js';
import type { WindowsProcess } from './windows-model.js';

/** Frames a result the way templates/remote/_prelude.ps1.hbs does: `PHRESULT:` + base64 of UTF-8 JSON. */
function frame(result: Record<string, unknown>, exitCode: number): ExecOutcome {
  const b64 = Buffer.from(JSON.stringify(result), 'utf8').toString('base64');
  return { stdout: `PHRESULT:${b64}\r\n`, stderr: '', exitCode };
}

function need(params: ReadonlyMap<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new Error(`$Ph${name} is not set`);
  return value;
}

/** The keys templates/remote/snapshot.ps1.hbs watches. */
export const watchedKeys = [
  'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE',
  'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE',
  mappingsKey,
];

function markerProcesses(host: SimulatedWindowsHost, marker: string, self: WindowsProcess): WindowsProcess[] {
  return host.processes.running().filter((p) => p !== self && p.commandLine.includes(marker));
}

function profileDirs(host: SimulatedWindowsHost, marker: string): string[] {
  return [
    `${host.profileDir}\\AppData\\Roaming\\Microsoft\\Network\\Connections\\Cm\\${marker}`,
    `${allUsersProfileRoot}\\${marker}`,
  ];
}

/** Carries out one remote operation with the semantics its PowerShell would have on Windows. */
export async function runOperation(
  host: SimulatedWindowsHost,
  operation: string,
  params: ReadonlyMap<string, string>,
  shell: WindowsProcess,
): Promise<ExecOutcome> {
  try {
    switch (operation) {
      case 'preflight':
        return frame(
          {
            ok: true,
            hostname: host.identity.domain,
            user: host.user,
            integrityLevel: 'High',
            os: 'Microsoft Windows NT 10.0.19045.0',
            powershell: '5.1.19041.5247',
            sshServer: '9.5.0.0',
            cmstpPresent: true,
            sensors: {
              sysmonRunning: true,
              sysmonEventTypes: host.sensor.sysmonEventTypes,
              security4688: host.sensor.security4688 !== 'off',
              security4688CommandLine: host.sensor.security4688 === 'command-line',
              forwarders: ['purple-harness-hec'],
              freeDiskBytes: 64 * 1024 ** 3,
              utcNow: new Date().toISOString(),
            },
          },
          0,
        );
      case 'snapshot': {
        const marker = need(params, 'Marker');
        const runDir = need(params, 'RunDir');
        const items: string[] = [];
        if (host.drive.exists(runDir)) {
          items.push(`dir:${runDir}`);
          for (const entry of host.drive.list(runDir)) items.push(`file:${entry.path}`);
        }
        for (const dir of profileDirs(host, marker)) if (host.drive.exists(dir)) items.push(`dir:${dir}`);
        for (const key of watchedKeys) if (host.registry.exists(key)) items.push(`key:${key}`);
        for (const value of host.registry.values(mappingsKey)) {
          if (value.name.includes(marker) || value.data.includes(marker))
            items.push(`value:${mappingsKey}|${value.name}`);
        }
        for (const p of markerProcesses(host, marker, shell))
          items.push(`process:${p.pid}:${p.image.split('\\').pop() ?? ''}`);
        return frame({ ok: true, items }, 0);
      }
      case 'run-cmstp': {
        const payloadPath = need(params, 'PayloadPath');
        const payload = host.drive.get(payloadPath);
        if (!payload || payload.dir)
          return frame({ ok: false, error: `payload missing before run: ${payloadPath}` }, 11);
        const startUtc = new Date().toISOString();
        const { process, exitCode } = await host.runCmstp(shell, need(params, 'Arguments'));
        return frame(
          {
            ok: true,
            pid: process.pid,
            exitCode,
            timedOut: false,
            startUtc,
            endUtc: new Date().toISOString(),
            payloadSha256: sha256Hex(payload.content),
            markerFound: host.drive.exists(need(params, 'MarkerPath')),
          },
          0,
        );
      }
      case 'com-shellexec': {
        const runDir = need(params, 'RunDir');
        host.drive.mkdirp(runDir);
        const startUtc = new Date().toISOString();
        const parameters = need(params, 'Parameters');
        host.comShellExec(shell, `${need(params, 'File')}${parameters === '' ? '' : ` ${parameters}`}`);
        return frame(
          {
            ok: true,
            pid: shell.pid,
            exitCode: 0,
            timedOut: false,
            startUtc,
            endUtc: new Date().toISOString(),
            payloadSha256: '',
            markerFound: host.drive.exists(need(params, 'MarkerPath')),
          },
          0,
        );
      }
      case 'uninstall-profile': {
        const marker = need(params, 'Marker');
        const runDir = need(params, 'RunDir');
        const startUtc = new Date().toISOString();
        let uninstall: { inf: string; exitCode: number | null; timedOut: boolean } | null = null;
        const registered =
          profileDirs(host, marker).some((dir) => host.drive.exists(dir)) ||
          host.registry.values(mappingsKey).some((v) => v.name.includes(marker));
        const inf = host.drive.exists(runDir)
          ? host.drive
              .list(runDir)
              .find((entry) => new RegExp(`\\\\${marker}\\.(?!txt$)[^.\\\\]+$`, 'i').test(entry.path))
          : undefined;
        if (registered && inf !== undefined) {
          const { exitCode } = await host.runCmstp(shell, `/s /u "${inf.path}"`);
          uninstall = { inf: inf.path, exitCode, timedOut: false };
        }
        return frame({ ok: true, startUtc, uninstall }, 0);
      }
      case 'cleanup': {
        const marker = need(params, 'Marker');
        const runDir = need(params, 'RunDir');
        const startUtc = new Date().toISOString();
        const removed: string[] = [];
        for (const p of markerProcesses(host, marker, shell)) {
          host.processes.exit(p);
          removed.push(`process:${p.pid}:${p.image.split('\\').pop() ?? ''}`);
        }
        for (const dir of [runDir, ...profileDirs(host, marker)]) {
          if (host.drive.exists(dir)) {
            host.drive.removeTree(dir);
            removed.push(`dir:${dir}`);
          }
        }
        for (const value of host.registry.values(mappingsKey)) {
          if (
            (value.name.includes(marker) || value.data.includes(marker)) &&
            host.registry.removeValue(mappingsKey, value.name)
          ) {
            removed.push(`value:${mappingsKey}|${value.name}`);
          }
        }
        for (const key of need(params, 'CreatedKeys').split('|').filter(Boolean)) {
          if (host.registry.exists(key)) {
            host.registry.removeKey(key);
            removed.push(`key:${key}`);
          }
        }
        return frame({ ok: true, startUtc, removed, errors: [] }, 0);
      }
      default:
        return {
          stdout: '',
          stderr: `#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">purple-harness lab: unknown operation ${operation}_x000D__x000A_</S></Objs>`,
          exitCode: 1,
        };
    }
  } catch (error) {
    return frame({ ok: false, error: errorMessage(error) }, 10);
  }
}
