/**
 * A generated corpus of Sigma rules shaped like public Windows rule sets, for the rule-index test and
 * `npm run bench` (never shipped, never copied from any rule set). Shares follow the folders of SigmaHQ's
 * rules/windows (process_creation about half; registry, file and image-load events next; a few network, DNS,
 * process-access and Security-channel rules) and the shapes their rules are written in: an image by name and
 * OriginalFileName, command-line fragments with `contains` (often `|all`, sometimes `|windash`), parent/child
 * pairs, `not 1 of filter_*` exclusions under Program Files and System32, a few regexes and keyword lists.
 * Literals are drawn with a skewed distribution, so popular ones (powershell.exe, \Temp\) recur across many
 * rules as they do in real sets. Deterministic for a seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { seededRandom } from './random.js';

const random = seededRandom;

const binaries = [
  'powershell.exe',
  'cmd.exe',
  'rundll32.exe',
  'regsvr32.exe',
  'mshta.exe',
  'wscript.exe',
  'cscript.exe',
  'pwsh.exe',
  'certutil.exe',
  'reg.exe',
  'schtasks.exe',
  'wmic.exe',
  'msiexec.exe',
  'bitsadmin.exe',
  'net.exe',
  'net1.exe',
  'sc.exe',
  'cmstp.exe',
  'msbuild.exe',
  'installutil.exe',
  'regasm.exe',
  'regsvcs.exe',
  'forfiles.exe',
  'curl.exe',
  'findstr.exe',
  'vssadmin.exe',
  'wevtutil.exe',
  'bcdedit.exe',
  'netsh.exe',
  'taskkill.exe',
  'tasklist.exe',
  'whoami.exe',
  'nltest.exe',
  'dsquery.exe',
  'ntdsutil.exe',
  'esentutl.exe',
  'expand.exe',
  'extrac32.exe',
  'hh.exe',
  'ieexec.exe',
  'odbcconf.exe',
  'pcalua.exe',
  'presentationhost.exe',
  'scriptrunner.exe',
  'syncappvpublishingserver.exe',
  'control.exe',
  'explorer.exe',
  'msdt.exe',
  'mavinject.exe',
  'diskshadow.exe',
  'dnscmd.exe',
  'fsutil.exe',
  'ftp.exe',
  'gpscript.exe',
  'infdefaultinstall.exe',
  'jsc.exe',
  'makecab.exe',
  'mmc.exe',
  'mpcmdrun.exe',
  'msconfig.exe',
  'msxsl.exe',
  'netsh.exe',
  'psexec.exe',
  'procdump.exe',
  'adfind.exe',
  'rclone.exe',
  'anydesk.exe',
  'teamviewer.exe',
  'winrm.cmd',
  'wuauclt.exe',
  'verclsid.exe',
  'xwizard.exe',
  'replace.exe',
  'cipher.exe',
  'icacls.exe',
  'takeown.exe',
  'attrib.exe',
  'auditpol.exe',
  'at.exe',
  'systeminfo.exe',
  'quser.exe',
  'qwinsta.exe',
  'route.exe',
  'arp.exe',
  'ipconfig.exe',
  'nslookup.exe',
  'ping.exe',
  'tracert.exe',
  'powershell_ise.exe',
  'dllhost.exe',
  'svchost.exe',
  'lsass.exe',
  'winword.exe',
  'excel.exe',
  'powerpnt.exe',
  'outlook.exe',
  'acrord32.exe',
  'chrome.exe',
  'firefox.exe',
  'msedge.exe',
  'w3wp.exe',
  'sqlservr.exe',
  'java.exe',
  'python.exe',
  'node.exe',
  'wsl.exe',
  'bash.exe',
];
const fragments = [
  ' -enc',
  ' -nop',
  ' -w hidden',
  'bypass',
  'downloadstring',
  'downloadfile',
  'invoke-expression',
  'iex ',
  'frombase64string',
  'http://',
  'https://',
  '\\appdata\\',
  '\\temp\\',
  '\\users\\public\\',
  '\\programdata\\',
  '/c ',
  ' /s ',
  ' /i:',
  'scrobj.dll',
  'javascript:',
  'vbscript:',
  'comsvcs',
  'minidump',
  '/create',
  ' /sc ',
  'reg add',
  'add-mppreference',
  'set-mppreference',
  '-exclusionpath',
  'delete shadows',
  'resize shadowstorage',
  'shadowcopy',
  'recoveryenabled',
  'bootstatuspolicy',
  'clear-eventlog',
  ' cl ',
  'advfirewall',
  'portproxy',
  'urlcache',
  '-decode',
  '-encode',
  ' /transfer ',
  'net user',
  ' /add',
  'localgroup administrators',
  'domain admins',
  'lsass',
  'sekurlsa',
  '.dll,#',
  ',dllregisterserver',
  'shell32.dll,control_rundll',
  '\\\\127.0.0.1\\',
  'wmiprvse',
  'process call create',
  'shadowcopy delete',
  '.inf',
  '.sct',
  '.hta',
  '.ps1',
  '.vbs',
  '.js',
  'hidden',
  'unrestricted',
  'new-object net.webclient',
  'start-bitstransfer',
  'invoke-webrequest',
  'certreq',
  'ntds.dit',
  '\\system32\\config\\sam',
  'security.hive',
  'sam.hive',
  'procdump',
  'accepteula',
];
const registryKeys = [
  '\\CurrentVersion\\Run',
  '\\CurrentVersion\\RunOnce',
  '\\Image File Execution Options\\',
  '\\Windows Defender\\Exclusions\\',
  '\\Services\\',
  '\\Environment\\',
  '\\App Paths\\',
  '\\Winlogon\\Shell',
  '\\Winlogon\\Userinit',
  '\\Policies\\System\\EnableLUA',
  '\\Lsa\\',
  '\\SilentProcessExit\\',
  '\\Control\\SafeBoot\\',
  '\\Terminal Server\\',
  '\\Office\\',
  '\\Security\\Trusted Documents\\',
  '\\Explorer\\Shell Folders',
  '\\COM3\\',
  '\\InprocServer32\\',
  '\\AppCompatFlags\\',
];
const fileExtensions = [
  '.exe',
  '.dll',
  '.ps1',
  '.bat',
  '.vbs',
  '.hta',
  '.lnk',
  '.inf',
  '.sct',
  '.sys',
  '.zip',
];
const dlls = [
  'dbghelp.dll',
  'dbgcore.dll',
  'vaultcli.dll',
  'samlib.dll',
  'wmiutils.dll',
  'clr.dll',
  'mscoree.dll',
  'amsi.dll',
  'system.management.automation.dll',
  'taskschd.dll',
  'winhttp.dll',
  'cmlua.dll',
  'comsvcs.dll',
  'urlmon.dll',
  'wininet.dll',
  'vbscript.dll',
  'jscript.dll',
  'scrobj.dll',
  'msxml3.dll',
  'dsparse.dll',
];
const securityIds = [
  4624, 4625, 4656, 4663, 4673, 4688, 4697, 4698, 4720, 4732, 4768, 4769, 5140, 5145, 1102,
];

/** The shares of each kind of rule, in the proportions of a public Windows rule set's folders. */
const kinds = [
  ['process_creation', 58],
  ['registry_set', 10],
  ['registry_event', 3],
  ['file_event', 9],
  ['image_load', 6],
  ['network_connection', 3],
  ['dns_query', 2],
  ['process_access', 2],
  ['pipe_created', 1],
  ['ps_script', 6],
  ['security', 7],
  ['system', 3],
  ['windefend', 1],
] as const;

export interface CorpusRule {
  readonly file: string;
  readonly text: string;
}

/** Generates `count` rules; every one is in a shape our engine loads. */
export function sigmaCorpus(count: number, seed = 1): CorpusRule[] {
  const next = random(seed);
  // Skewed towards the start of a list, as popular literals recur across real rule sets.
  const pick = <T>(list: readonly T[]): T => list[Math.floor(list.length * next() ** 2.2)] as T;
  const some = <T>(list: readonly T[], min: number, max: number): T[] => {
    const n = min + Math.floor(next() * (max - min + 1));
    return [...new Set(Array.from({ length: n }, () => pick(list)))];
  };
  const rare = (): string => `t${Math.floor(next() * 1e9).toString(36)}`;
  const fragment = (): string => (next() < 0.15 ? rare() : pick(fragments));
  const total = kinds.reduce((n, [, share]) => n + share, 0);

  const kindOf = (): string => {
    let roll = next() * total;
    for (const [kind, share] of kinds) if ((roll -= share) < 0) return kind;
    return 'process_creation';
  };
  const image = (name: string): Record<string, unknown> => ({ 'Image|endswith': `\\${name}` });
  const filters = (): Record<string, unknown> =>
    next() < 0.4
      ? {
          filter_main_program_files: {
            'Image|startswith': ['C:\\Program Files\\', 'C:\\Program Files (x86)\\'],
          },
          ...(next() < 0.5
            ? { filter_optional_system: { 'Image|startswith': 'C:\\Windows\\System32\\' } }
            : {}),
        }
      : {};
  const withFilters = (selection: Record<string, unknown>, condition: string): Record<string, unknown> => {
    const filter = filters();
    return Object.keys(filter).length === 0
      ? { ...selection, condition }
      : { ...selection, ...filter, condition: `(${condition}) and not 1 of filter_*` };
  };

  const processCreation = (name: string): Record<string, unknown> => {
    const roll = next();
    if (roll < 0.35)
      return withFilters(
        {
          selection_img: [image(name), { OriginalFileName: name.toUpperCase() }],
          selection_cli: { [`CommandLine|contains${next() < 0.3 ? '|all' : ''}`]: some(fragments, 1, 4) },
        },
        'all of selection_*',
      );
    if (roll < 0.55)
      return withFilters(
        {
          selection_parent: { 'ParentImage|endswith': some(binaries, 1, 3).map((b) => `\\${b}`) },
          selection_child: { 'Image|endswith': some(binaries, 1, 4).map((b) => `\\${b}`) },
        },
        'all of selection_*',
      );
    if (roll < 0.75)
      return withFilters(
        { selection: { 'CommandLine|contains|all': [fragment(), fragment()] } },
        'selection',
      );
    if (roll < 0.85)
      return {
        selection: { ...image(name), 'CommandLine|contains|windash': [' -e ', ' -ep ', ' -enc'] },
        condition: 'selection',
      };
    // Regexes are a few per cent of real process_creation rules, keyword lists about one in a hundred.
    if (roll < 0.89)
      return {
        selection: { 'CommandLine|re': `(?:${rare()}|\\\\${rare()}\\.exe)` },
        condition: 'selection',
      };
    if (roll < 0.99)
      return { selection: { 'CommandLine|startswith': `"C:\\Windows\\${rare()}` }, condition: 'selection' };
    return { keywords: [rare(), fragment()], condition: 'keywords' };
  };
  const detections: Record<string, (name: string) => Record<string, unknown>> = {
    process_creation: processCreation,
    registry_set: () =>
      withFilters(
        {
          selection: {
            'TargetObject|contains': some(registryKeys, 1, 2),
            ...(next() < 0.5
              ? { 'Details|contains': [fragment(), '.exe'] }
              : { Details: 'DWORD (0x00000001)' }),
          },
        },
        'selection',
      ),
    registry_event: () => ({
      selection: { 'TargetObject|endswith': `${pick(registryKeys)}${rare()}` },
      condition: 'selection',
    }),
    file_event: (name) =>
      withFilters(
        {
          selection: {
            'TargetFilename|contains': some(
              ['\\Temp\\', '\\AppData\\', '\\Startup\\', '\\ProgramData\\', '\\Users\\Public\\'],
              1,
              2,
            ),
            'TargetFilename|endswith': some(fileExtensions, 1, 3),
          },
          ...(next() < 0.3 ? { selection_img: image(name) } : {}),
        },
        next() < 0.3 ? 'selection' : '1 of selection*',
      ),
    image_load: () =>
      withFilters(
        { selection: { 'ImageLoaded|endswith': some(dlls, 1, 3).map((d) => `\\${d}`) } },
        'selection',
      ),
    network_connection: (name) => ({
      selection: {
        ...image(name),
        Initiated: 'true',
        ...(next() < 0.5
          ? { DestinationPort: [4444, 8080, 443] }
          : { 'DestinationHostname|endswith': ['.ngrok.io', `.${rare()}.net`] }),
      },
      condition: 'selection',
    }),
    dns_query: () => ({
      selection: { 'QueryName|endswith': ['.onion', `.${rare()}.com`, '.duckdns.org'] },
      condition: 'selection',
    }),
    process_access: () => ({
      selection: {
        'TargetImage|endswith': '\\lsass.exe',
        GrantedAccess: ['0x1010', '0x1410', '0x147a', '0x1fffff'],
        ...(next() < 0.5 ? { 'CallTrace|contains': pick(dlls) } : {}),
      },
      condition: 'selection',
    }),
    security: () => ({
      selection: {
        EventID: pick(securityIds),
        ...(next() < 0.5
          ? { 'ObjectName|contains': pick(['\\SAM', 'ntds.dit', '\\Lsa', 'IPC$', 'ADMIN$']) }
          : { 'ProcessName|endswith': `\\${pick(binaries)}` }),
      },
      condition: 'selection',
    }),
    pipe_created: () => ({
      selection: { 'PipeName|startswith': ['\\msagent_', `\\${rare()}`, '\\postex_'] },
      condition: 'selection',
    }),
    ps_script: () =>
      withFilters(
        { selection: { [`ScriptBlockText|contains${next() < 0.4 ? '|all' : ''}`]: some(fragments, 1, 3) } },
        'selection',
      ),
    system: () => ({
      selection: {
        Provider_Name: 'Service Control Manager',
        EventID: 7045,
        'ImagePath|contains': some([...fragments, rare()], 1, 3),
      },
      condition: 'selection',
    }),
    windefend: () => ({ selection: { EventID: [1116, 1117, 5001] }, condition: 'selection' }),
  };
  const services = new Set(['security', 'system', 'windefend']);

  return Array.from({ length: count }, (_, i) => {
    const kind = kindOf();
    const name = pick(binaries);
    const rule = {
      title: `Generated ${kind} rule ${i + 1}`,
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      status: 'test',
      level: pick(['medium', 'high', 'low', 'critical', 'informational']),
      tags: ['attack.execution'],
      logsource: services.has(kind)
        ? { product: 'windows', service: kind }
        : { product: 'windows', category: kind },
      detection: (detections[kind] ?? processCreation)(name),
    };
    return { file: `${kind}/generated_${String(i + 1).padStart(5, '0')}.yml`, text: stringify(rule) };
  });
}

/** Writes the corpus as a folder of rule files, one sub-folder per kind, as rule sets are laid out. */
export function writeSigmaCorpus(dir: string, count: number, seed = 1): void {
  for (const rule of sigmaCorpus(count, seed)) {
    const file = join(dir, rule.file);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, rule.text);
  }
}

/**
 * Events in the corpus's vocabulary, so that a good share of them match some generated rule: process starts
 * (Sysmon 1 and Security 4688), registry, file, image-load, network, DNS, process-access and Security events,
 * with letters in random case and fields sometimes missing.
 */
export function corpusEvents(count: number, seed = 2): Record<string, unknown>[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(list.length * next() ** 2.2)] as T;
  const cased = (text: string): string => text.replace(/./g, (ch) => (next() < 0.2 ? ch.toUpperCase() : ch));
  const folder = (): string =>
    pick([
      'C:\\Windows\\System32\\',
      'C:\\Program Files\\Vendor\\',
      'C:\\Users\\ann\\AppData\\Local\\Temp\\',
      'C:\\ProgramData\\',
    ]);
  const sysmon = 'Microsoft-Windows-Sysmon/Operational';
  const line = (): string =>
    Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick(fragments)).join(next() < 0.5 ? ' ' : '');
  const events: ((image: string) => Record<string, unknown>)[] = [
    (image) => ({
      EventID: 1,
      Channel: sysmon,
      Image: image,
      OriginalFileName: next() < 0.7 ? image.split('\\').pop()?.toUpperCase() : undefined,
      CommandLine: cased(`"${image}" ${line()}`),
      ParentImage: cased(`${folder()}${pick(binaries)}`),
    }),
    (image) => ({
      EventID: 4688,
      Channel: 'Security',
      NewProcessName: image,
      ParentProcessName: cased(`${folder()}${pick(binaries)}`),
      CommandLine: cased(`${image} ${line()}`),
    }),
    (image) => ({
      EventID: 13,
      Channel: sysmon,
      Image: image,
      TargetObject: cased(`HKLM\\SOFTWARE\\Microsoft\\Windows${pick(registryKeys)}\\x`),
      Details: next() < 0.5 ? 'DWORD (0x00000001)' : cased(`${folder()}${pick(binaries)} ${line()}`),
    }),
    (image) => ({
      EventID: 11,
      Channel: sysmon,
      Image: image,
      TargetFilename: cased(`${folder()}x${pick(fileExtensions)}`),
    }),
    (image) => ({
      EventID: 7,
      Channel: sysmon,
      Image: image,
      ImageLoaded: cased(`${folder()}${pick(dlls)}`),
    }),
    (image) => ({
      EventID: 3,
      Channel: sysmon,
      Image: image,
      Initiated: 'true',
      DestinationPort: pick([4444, 443, 80, 8080]),
      DestinationHostname: pick(['a.ngrok.io', 'example.test', 'b.duckdns.org']),
    }),
    (image) => ({
      EventID: 22,
      Channel: sysmon,
      Image: image,
      QueryName: pick(['x.onion', 'example.test', 'y.duckdns.org']),
    }),
    (image) => ({
      EventID: 10,
      Channel: sysmon,
      SourceImage: image,
      TargetImage: 'C:\\Windows\\System32\\lsass.exe',
      GrantedAccess: pick(['0x1010', '0x1000', '0x1fffff']),
      CallTrace: cased(`C:\\Windows\\SYSTEM32\\ntdll.dll+9d1e4|C:\\Windows\\System32\\${pick(dlls)}+1a2b`),
    }),
    (image) => ({
      EventID: pick(securityIds),
      Channel: 'Security',
      ProcessName: image,
      ObjectName: pick([
        '\\Device\\HarddiskVolume2\\Windows\\System32\\config\\SAM',
        'C:\\x\\ntds.dit',
        '\\REGISTRY\\MACHINE\\x',
      ]),
    }),
  ];
  events.push(
    () => ({
      EventID: 4104,
      Channel: 'Microsoft-Windows-PowerShell/Operational',
      ScriptBlockText: cased(line()),
    }),
    (image) => ({
      EventID: 7045,
      Channel: 'System',
      Provider_Name: 'Service Control Manager',
      ImagePath: cased(`${image} ${line()}`),
    }),
  );
  return Array.from({ length: count }, () => {
    const image = cased(`${folder()}${pick(binaries)}`);
    const event = pick(events)(image);
    return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined && next() > 0.03));
  });
}
