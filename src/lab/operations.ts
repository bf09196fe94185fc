import { z } from 'zod';
import { windowsBaseName } from '../util/winpath.js';
import { errorMessage } from '../core/index.js';
import type { ExecOutcome, SimulatedWindowsHost } from './windows-host.js';
import { allUsersProfileRoot, mappingsKey, sddlSid, sha256Hex } from './windows-host.js';
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

const HostLock = z.object({ marker: z.string(), acquiredUtc: z.string(), expiresUtc: z.string() });

/** An unreadable lock file counts as no lock, as templates/remote/lock-host.ps1.hbs treats it. */
function parseLock(content: Buffer): z.infer<typeof HostLock> | null {
  try {
    return HostLock.safeParse(JSON.parse(content.toString('utf8'))).data ?? null;
  } catch {
    return null;
  }
}

/**
 * run-cmstp's follow-up (emulation.followUp), as the template makes it: once cmstp has ended on its own, wait
 * until $PhFollowUpAfterMs after cmstp started and $PhFollowUpAfterEndMs after it ended, then have the CMSTPLUA
 * surrogate start the command. Null when the scenario has none.
 */
async function followUpCall(
  host: SimulatedWindowsHost,
  params: ReadonlyMap<string, string>,
  shell: WindowsProcess,
  startAt: number,
  endAt: number,
): Promise<Record<string, unknown> | null> {
  const afterMs = params.get('FollowUpAfterMs');
  if (afterMs === undefined) return null;
  const due = Math.max(startAt + Number(afterMs), endAt + Number(need(params, 'FollowUpAfterEndMs')));
  const wait = due - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const startUtc = new Date().toISOString();
  const parameters = need(params, 'FollowUpParameters');
  host.comShellExec(shell, `${need(params, 'FollowUpFile')}${parameters === '' ? '' : ` ${parameters}`}`);
  return { startUtc, result: 0, markerFound: host.drive.exists(need(params, 'FollowUpMarkerPath')) };
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
              utcNow: host.clockReading ?? new Date().toISOString(),
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
          items.push(`process:${p.pid}:${windowsBaseName(p.image)}`);
        return frame({ ok: true, items }, 0);
      }
      case 'run-cmstp': {
        const payloadPath = need(params, 'PayloadPath');
        const payload = host.drive.get(payloadPath);
        if (!payload || payload.dir)
          return frame({ ok: false, error: `payload missing before run: ${payloadPath}` }, 11);
        const startAt = Date.now();
        const startUtc = new Date(startAt).toISOString();
        // As the template does: wait up to $PhTimeoutMs, then kill cmstp (a dialog nobody can see never closes).
        let started: WindowsProcess | undefined;
        const finished = host.runCmstp(shell, need(params, 'Arguments'), undefined, (p) => {
          started = p;
        });
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<null>((resolve) => {
          timer = setTimeout(
            () => {
              resolve(null);
            },
            Number(need(params, 'TimeoutMs')),
          );
        });
        const outcome = await Promise.race([finished, deadline]);
        clearTimeout(timer);
        if (outcome === null && started !== undefined) {
          host.kill(started.pid);
          await finished;
        }
        const endUtc = new Date().toISOString();
        const followUp =
          outcome === null ? null : await followUpCall(host, params, shell, startAt, Date.parse(endUtc));
        return frame(
          {
            ok: true,
            pid: outcome?.process.pid ?? started?.pid ?? 0,
            exitCode: outcome === null ? null : outcome.exitCode,
            timedOut: outcome === null,
            startUtc,
            endUtc,
            payloadSha256: sha256Hex(payload.content),
            markerFound: host.drive.exists(need(params, 'MarkerPath')),
            markerProcesses: markerProcesses(host, need(params, 'Marker'), shell).map((p) => ({
              pid: p.pid,
              parentPid: p.parent?.pid ?? 0,
              name: windowsBaseName(p.image),
            })),
            followUp,
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
      case 'canary': {
        const writtenUtc = new Date().toISOString();
        host.runProgram(
          shell,
          'C:\\Windows\\System32\\eventcreate.exe',
          `"C:\\Windows\\system32\\eventcreate.exe" /T INFORMATION /ID 900 /L APPLICATION /SO purple-harness /D "${need(params, 'CanaryText')}"`,
          'canary',
        );
        return frame({ ok: true, writtenUtc }, 0);
      }
      case 'secure-folder': {
        // templates/remote/secure-folder.ps1.hbs: refuse a folder another account made; else protect it.
        const root = need(params, 'WorkingFolder');
        host.drive.mkdirp(root);
        const trusted = new Set(['BA', 'SY', sddlSid(host.identity.userSid)]);
        const owner = sddlSid(host.securityOf(root)?.owner ?? '');
        if (!trusted.has(owner))
          return frame(
            {
              ok: false,
              error: `${root} is owned by ${owner}, not by an administrator, SYSTEM or this account: someone else created it, so nothing in it can be trusted. Check what it holds, remove it, and run again.`,
            },
            13,
          );
        const adminOnly = (): boolean => {
          const security = host.securityOf(root);
          return (
            security?.protected === true &&
            security.aces.every(
              (ace) => !ace.startsWith('(A;') || trusted.has(ace.slice(1, -1).split(';')[5] ?? ''),
            )
          );
        };
        const changed = !adminOnly();
        if (changed)
          host.applyIcacls(root, { removeInherited: true, fullControl: ['S-1-5-32-544', 'S-1-5-18'] });
        return frame({ ok: true, workingFolder: { path: root, sddl: host.sddlOf(root), changed } }, 0);
      }
      case 'lock-host': {
        const marker = need(params, 'Marker');
        const lockPath = need(params, 'LockPath');
        const now = new Date();
        const held = host.drive.get(lockPath);
        if (held && !held.dir) {
          const holder = parseLock(held.content);
          if (holder !== null && Date.parse(holder.expiresUtc) > now.getTime())
            return frame({ ok: true, acquired: false, holder }, 0);
          host.drive.remove(lockPath);
        }
        const lock = {
          marker,
          acquiredUtc: now.toISOString(),
          expiresUtc: new Date(now.getTime() + Number(need(params, 'LockTtlSeconds')) * 1000).toISOString(),
        };
        host.drive.mkdirp(lockPath.slice(0, lockPath.lastIndexOf('\\')));
        host.writeFileAs(shell, lockPath, Buffer.from(JSON.stringify(lock), 'utf8'), 'scaffolding');
        return frame({ ok: true, acquired: true, holder: lock }, 0);
      }
      case 'unlock-host': {
        const lockPath = need(params, 'LockPath');
        const held = host.drive.get(lockPath);
        const mine =
          held !== undefined && !held.dir && parseLock(held.content)?.marker === need(params, 'Marker');
        if (mine) host.drive.remove(lockPath);
        return frame({ ok: true, released: mine }, 0);
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
          removed.push(`process:${p.pid}:${windowsBaseName(p.image)}`);
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
