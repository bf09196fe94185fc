import type { ExecOutcome, SimulatedWindowsHost } from './windows-host.js';
import type { WindowsProcess } from './windows-model.js';

/**
 * The Windows programs the remote scripts start that Linux lacks, as the script-executing lab target runs
 * them (lab-leaves/leaf.mjs starts a real process; this decides what it does). Each checks its arguments the
 * way the real program does, so a template that passes a wrong switch fails here too.
 */
export interface LeafProgramCall {
  readonly host: SimulatedWindowsHost;
  /** The PowerShell process that started it. */
  readonly parent: WindowsProcess;
  readonly argv: readonly string[];
  /** The real process's id: the model's process takes it. */
  readonly pid: number;
}

const ok = (stdout: string): ExecOutcome => ({ stdout, stderr: '', exitCode: 0 });
const invalid = (program: string, detail: string): ExecOutcome => ({
  stdout: '',
  stderr: `ERROR: Invalid argument/option - '${detail}'.\r\nType "${program} /?" for usage.\r\n`,
  exitCode: 1,
});

/**
 * How a Windows program's command line is rebuilt from its arguments: the C runtime's quoting (an argument
 * with a space, tab or quote goes in quotes). The render stage quotes cmstp's INF path by the same rule.
 */
export function argumentsOf(argv: readonly string[]): string {
  return argv.map((a) => (a === '' || /[\s"]/.test(a) ? `"${a.replaceAll('"', '\\"')}"` : a)).join(' ');
}

export function commandLineOf(image: string, argv: readonly string[]): string {
  return argv.length === 0 ? `"${image}"` : `"${image}" ${argumentsOf(argv)}`;
}

/** eventcreate /T type /ID 1-1000 /L log /SO source /D text (learn.microsoft.com, "eventcreate"). */
function eventcreate({ host, parent, argv, pid }: LeafProgramCall): ExecOutcome {
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]?.toLowerCase() ?? '';
    if (!['/t', '/id', '/l', '/so', '/d'].includes(flag) || argv[i + 1] === undefined)
      return invalid('EVENTCREATE', argv[i] ?? '');
    options.set(flag, argv[i + 1] ?? '');
  }
  const id = Number(options.get('/id'));
  if (!['/t', '/id', '/d'].every((f) => options.has(f)) || !Number.isInteger(id) || id < 1 || id > 1000)
    return invalid('EVENTCREATE', argv.join(' '));
  const image = 'C:\\Windows\\system32\\eventcreate.exe';
  host.runProgram(
    parent,
    'C:\\Windows\\System32\\eventcreate.exe',
    commandLineOf(image, argv),
    'canary',
    pid,
  );
  return ok(
    `\r\nSUCCESS: An event of type '${options.get('/t') ?? ''}' was created in the '${options.get('/l') ?? 'APPLICATION'}' log with '${options.get('/so') ?? 'EventCreate'}' as the source.\r\n`,
  );
}

/**
 * `Sysmon64 -accepteula -c`: the loaded configuration, one `- <EventType> onmatch:` line per rule group.
 * The layout is synthetic, kept to what the preflight reads; `lab smoke` records a real host's.
 */
function sysmon({ host, argv }: LeafProgramCall): ExecOutcome {
  const flags = argv.map((a) => a.toLowerCase());
  if (!flags.includes('-c') || flags.some((f) => !['-c', '-accepteula'].includes(f)))
    return { stdout: '', stderr: `Unknown or incomplete arguments: ${argv.join(' ')}\r\n`, exitCode: 1 };
  const rules = host.sensor.sysmonEventTypes.map((type) => ` - ${type.padEnd(34)}onmatch: exclude\r\n`);
  return ok(
    `System Monitor v15.15 - System activity monitor\r\n\r\nCurrent configuration:\r\n - Service name:                  Sysmon64\r\n\r\nRule configuration (version 4.90):\r\n${rules.join('')}`,
  );
}

/** whoami, whoami /groups: the session's user and the mandatory label of its integrity level. */
function whoami({ host, parent, argv }: LeafProgramCall): ExecOutcome {
  if (argv.length === 0) return ok(`${host.user.toLowerCase()}\r\n`);
  if (argv.length !== 1 || argv[0]?.toLowerCase() !== '/groups') return invalid('WHOAMI', argv.join(' '));
  const label = { Medium: 'S-1-16-8192', High: 'S-1-16-12288', System: 'S-1-16-16384' }[
    parent.integrityLevel
  ];
  return ok(
    [
      '',
      'GROUP INFORMATION',
      '-----------------',
      '',
      'Group Name                           Type             SID          Attributes',
      '==================================== ================ ============ ==================================================',
      'Everyone                             Well-known group S-1-1-0      Mandatory group, Enabled by default, Enabled group',
      'BUILTIN\\Administrators               Alias            S-1-5-32-544 Mandatory group, Enabled by default, Enabled group, Group owner',
      `Mandatory Label\\${parent.integrityLevel} Mandatory Level Label            ${label}`,
      '',
    ].join('\r\n'),
  );
}

/** auditpol /get /subcategory:{GUID} /r: the Process Creation subcategory as CSV. */
function auditpol({ host, argv }: LeafProgramCall): ExecOutcome {
  const [get, subcategory, report] = argv.map((a) => a.toLowerCase());
  const guid = /^\/subcategory:(\{[0-9a-f-]{36}\})$/i.exec(argv[1] ?? '')?.[1];
  if (argv.length !== 3 || get !== '/get' || report !== '/r' || guid === undefined)
    return invalid('auditpol', argv.join(' ') || String(subcategory));
  if (guid.toUpperCase() !== '{0CCE922B-69AE-11D9-BED3-505054503030}')
    return {
      stdout: '',
      stderr: 'Error 0x00000057 occurred:\r\nThe parameter is incorrect.\r\n',
      exitCode: 87,
    };
  const setting = host.sensor.security4688 === 'off' ? 'No Auditing' : 'Success';
  return ok(
    `Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting\r\n${host.identity.domain},System,Process Creation,${guid.toUpperCase()},${setting},\r\n`,
  );
}

async function cmstp({ host, parent, argv, pid }: LeafProgramCall): Promise<ExecOutcome> {
  const { exitCode } = await host.runCmstp(parent, argumentsOf(argv), pid);
  return { stdout: '', stderr: '', exitCode };
}

export const leafPrograms = {
  'cmstp.exe': cmstp,
  'eventcreate.exe': eventcreate,
  'Sysmon64.exe': sysmon,
  whoami,
  auditpol,
} as const satisfies Record<string, (call: LeafProgramCall) => ExecOutcome | Promise<ExecOutcome>>;

export type LeafProgram = keyof typeof leafPrograms;

/** Where each program lives on the C: drive; null: on PATH (found by name, as System32 is on Windows). */
export const leafProgramPaths: Record<LeafProgram, string | null> = {
  'cmstp.exe': 'C:\\Windows\\System32\\cmstp.exe',
  'eventcreate.exe': 'C:\\Windows\\System32\\eventcreate.exe',
  'Sysmon64.exe': 'C:\\Windows\\Sysmon64.exe',
  whoami: null,
  auditpol: null,
};
