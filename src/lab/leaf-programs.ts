import { sysmonChannel, toWindowsXml } from './sysmon.js';
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
  // The canary template starts it as $env:SystemRoot\\System32\\eventcreate.exe: its command line says so.
  const image = leafProgramPaths['eventcreate.exe'];
  host.runProgram(parent, image, commandLineOf(image, argv), 'canary', pid);
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

/**
 * `wevtutil qe LOG /q:XPATH /f:xml /c:N [/rd:false]` (learn.microsoft.com, "wevtutil"): the log's events as
 * XML, oldest first, one per line. The query may be `*` or a lower bound on System/TimeCreated/@SystemTime,
 * the one shape the harness sends; any other is refused as the real tool refuses a query it cannot parse.
 */
function wevtutil({ host, argv }: LeafProgramCall): ExecOutcome {
  const [verb, log, ...rest] = argv;
  const failed = (code: number, text: string): ExecOutcome => ({
    stdout: '',
    stderr: `${text}\r\n`,
    exitCode: code,
  });
  if (verb?.toLowerCase() !== 'qe' || log === undefined) return failed(87, 'The parameter is incorrect.');
  const options = new Map<string, string>();
  for (const option of rest) {
    const match = /^\/(q|f|c|rd|e):(.*)$/is.exec(option);
    if (match?.[1] === undefined || match[2] === undefined) return failed(87, 'The parameter is incorrect.');
    options.set(match[1].toLowerCase(), match[2]);
  }
  if (options.get('f')?.toLowerCase() !== 'xml')
    return failed(1, 'purple-harness lab: wevtutil qe is modelled for /f:xml only');
  const count = Number(options.get('c') ?? Infinity);
  if (!(count > 0)) return failed(87, 'The parameter is incorrect.');
  const query = options.get('q') ?? '*';
  const bound = /^\*\[System\[TimeCreated\[@SystemTime>='([^']+)'\]\]\]$/.exec(query);
  const since = bound?.[1] === undefined ? null : Date.parse(bound[1]);
  if (query !== '*' && (since === null || !Number.isFinite(since)))
    return failed(15001, 'Failed to read events. The specified query is invalid.');
  const channels = new Set([sysmonChannel, 'Security', 'Application', 'System']);
  const channel = [...channels].find((c) => c.toLowerCase() === log.toLowerCase());
  if (channel === undefined)
    return failed(15007, 'Failed to read events. The specified channel could not be found.');
  const events = host.eventLog
    .filter((e) => e.fields.Channel === channel && (since === null || e.time.getTime() >= since))
    .slice(0, count);
  return ok(events.map((e) => `${toWindowsXml(e)}\r\n`).join(''));
}

/**
 * icacls PATH /inheritance:r /grant:r *SID:(OI)(CI)F ... (learn.microsoft.com, "icacls"): the one form the
 * harness uses; any other switch or permission is not modelled, and fails loudly.
 */
function icacls({ host, argv }: LeafProgramCall): ExecOutcome {
  const [path, ...rest] = argv;
  const invalid = (what: string): ExecOutcome => ({
    stdout: '',
    stderr: `Invalid parameter "${what}"\r\n`,
    exitCode: 87,
  });
  if (path === undefined) return invalid('');
  let removeInherited = false;
  const fullControl: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const option = rest[i]?.toLowerCase() ?? '';
    if (option === '/inheritance:r') removeInherited = true;
    else if (option === '/grant:r') {
      for (; /^\*S-[0-9-]+:\(OI\)\(CI\)F$/i.test(rest[i + 1] ?? ''); i += 1)
        fullControl.push((rest[i + 1] ?? '').slice(1).split(':')[0] ?? '');
      if (fullControl.length === 0) return invalid(rest[i + 1] ?? option);
    } else return invalid(rest[i] ?? '');
  }
  if (host.securityOf(path) === null)
    return {
      stdout: `${path}: The system cannot find the file specified.\r\nSuccessfully processed 0 files; Failed processing 1 files\r\n`,
      stderr: '',
      exitCode: 2,
    };
  host.applyIcacls(path, { removeInherited, fullControl });
  return ok(`processed file: ${path}\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n`);
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
  wevtutil,
  icacls,
} as const satisfies Record<string, (call: LeafProgramCall) => ExecOutcome | Promise<ExecOutcome>>;

export type LeafProgram = keyof typeof leafPrograms;

/** Where each program lives on the C: drive; null: on PATH (found by name, as System32 is on Windows). */
export const leafProgramPaths = {
  'cmstp.exe': 'C:\\Windows\\System32\\cmstp.exe',
  'eventcreate.exe': 'C:\\Windows\\System32\\eventcreate.exe',
  'Sysmon64.exe': 'C:\\Windows\\Sysmon64.exe',
  whoami: null,
  auditpol: null,
  wevtutil: null,
  icacls: null,
} as const satisfies Record<LeafProgram, string | null>;
