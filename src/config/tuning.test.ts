import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultTuning, tuningLabel, ValidationError, type Tuning } from '../core/index.js';
import { loadOurDetections } from '../sigma/load.js';
import { packageRoot } from '../util/paths.js';
import { loadTuningFile } from './tuning.js';

function tuningFile(t: { teardown: (fn: () => void) => void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-tuning-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'tuning.yaml');
  writeFileSync(file, text);
  return file;
}

test('#21 the default tuning written out loads as itself, and tuning/default.yaml (the file users copy) is it', (t) => {
  t.deepEqual(loadTuningFile(tuningFile(t, stringify(defaultTuning))), defaultTuning);
  t.deepEqual(loadTuningFile(join(packageRoot(), 'tuning', 'default.yaml')), defaultTuning);
});

test('#21 a tuning file is refused with every problem at its file:line:col: a regex and a network the rules could not read, a malformed GUID, a registry path Sysmon never writes, a TimeWindow that is no duration, an unknown key', (t) => {
  const file = tuningFile(
    t,
    [
      'schemaVersion: 1',
      "infPathRegex: '(?i)\\\\(Users|Temp\\\\.*\\.inf$'",
      'externalIpAllowlist:',
      '  - 10.0.0.0/8',
      '  - 10.20.0/24',
      'comInterfaceGuids:',
      "  - '3E5FC7F9-9A51-4367-9063-A120244FBEC7'",
      'registryKeyAllowlist:',
      "  - 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE'",
      'timeWindow: 5',
      'timewindow: 5s',
      '',
    ].join('\n'),
  );

  const error = t.throws(() => loadTuningFile(file), { instanceOf: ValidationError });

  // The shape first (schema), so the GUID, the registry path and the unknown key come together.
  const lines = error.issues.map((i) => `${String(i.line)}:${String(i.col)} ${i.message}`);
  t.is(lines.length, 4, lines.join('\n'));
  t.regex(lines.find((l) => l.startsWith('7:')) ?? '', /COM class id in braces/);
  t.regex(lines.find((l) => l.startsWith('9:')) ?? '', /registry path as Sysmon writes it/);
  t.regex(lines.find((l) => l.startsWith('10:')) ?? '', /timeWindow: must be text/);
  t.regex(lines.find((l) => l.startsWith('11:')) ?? '', /unknown key "timewindow"/);

  // With the shape fixed, what the rule engine reads: the regex and the network, each where it stands.
  const fixed = tuningFile(
    t,
    readFileSync(file, 'utf8')
      .replace("'3E5FC7F9-9A51-4367-9063-A120244FBEC7'", "'{3E5FC7F9-9A51-4367-9063-A120244FBEC7}'")
      .replace(/^registryKeyAllowlist:\n.*\ntimeWindow: 5\ntimewindow: 5s\n/m, 'registryKeyAllowlist: []\n'),
  );
  const engine = t.throws(() => loadTuningFile(fixed), { instanceOf: ValidationError });
  t.deepEqual(
    engine.issues.map((i) => [i.line, i.col]),
    [
      [2, 15],
      [5, 5],
    ],
  );
  t.regex(engine.issues[0]?.message ?? '', /regular expression .* in infPathRegex/);
  t.regex(engine.issues[1]?.message ?? '', /cidr value "10\.20\.0\/24" in externalIpAllowlist/);
  t.regex(error.message, /tuning\.yaml:7:5: /);
});

// Events each of our tuned rules is written for (Sysmon fields), and one each tuning should flip.
const channel = 'Microsoft-Windows-Sysmon/Operational';
const events = {
  infInTemp: {
    EventID: 11,
    Channel: channel,
    Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
    TargetFilename: 'C:\\Users\\u\\AppData\\Local\\Temp\\ph0123456789ab.inf',
  },
  iniInTemp: {
    EventID: 11,
    Channel: channel,
    Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
    TargetFilename: 'C:\\Users\\u\\AppData\\Local\\Temp\\tmp.ini',
  },
  cmluautilChild: {
    EventID: 1,
    Channel: channel,
    Image: 'C:\\Windows\\System32\\cmd.exe',
    ParentImage: 'C:\\Windows\\System32\\dllhost.exe',
    ParentCommandLine: 'C:\\Windows\\system32\\DllHost.exe /Processid:{3E000D72-A845-4CD9-BD83-80C07C3B881F}',
    IntegrityLevel: 'High',
  },
  connectionToLab: {
    EventID: 3,
    Channel: channel,
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    Initiated: 'true',
    DestinationIp: '10.20.0.5',
  },
  appPathsWrite: {
    EventID: 13,
    Channel: channel,
    EventType: 'SetValue',
    TargetObject:
      'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE\\ProfileInstallPath',
    Details: 'C:\\ProgramData\\Microsoft\\Network\\Connections\\Cm\\ph0123456789ab.inf',
  },
} as const;

/** Every (rule title, event name) our rules fire on, under a tuning. */
function firings(tuning: Tuning): Set<string> {
  const { loaded, refused } = loadOurDetections(tuning);
  if (refused.length > 0) throw new Error(`refused: ${JSON.stringify(refused)}`);
  const fired = new Set<string>();
  for (const [name, event] of Object.entries(events))
    for (const rule of loaded) if (rule.matches(event)) fired.add(`${rule.title} <- ${name}`);
  return fired;
}

/** What a tuning changes against the default: firings gained (+) and lost (-). */
function flips(tuning: Partial<Tuning>): string[] {
  const before = firings(defaultTuning);
  const after = firings({ ...defaultTuning, ...tuning });
  return [
    ...[...after].filter((f) => !before.has(f)).map((f) => `+ ${f}`),
    ...[...before].filter((f) => !after.has(f)).map((f) => `- ${f}`),
  ];
}

test('#21 each tuned element changes exactly the rule that reads it, on exactly the event that crosses it', (t) => {
  // The defaults keep what the rules did before they read a tuning.
  t.deepEqual(
    [...firings(defaultTuning)].sort(),
    [
      'Elevated child of the Connection Manager COM surrogate <- cmluautilChild',
      'Connection Manager App Paths key written <- appPathsWrite',
      'Setup information file written to a user-writable folder <- infInTemp',
      'cmstp.exe opens a network connection <- connectionToLab',
    ].sort(),
  );

  t.deepEqual(flips({ infPathRegex: '(?i)\\\\ProgramData\\\\.*\\.inf$' }), [
    '- Setup information file written to a user-writable folder <- infInTemp',
  ]);
  // The tuning the issue warns about: a path regex that misses .ini (WinPwnage's tmp.ini), then one that does not.
  t.deepEqual(flips({ infPathRegex: '(?i)\\\\(ProgramData|Users|Temp)\\\\.*\\.in[fi]$' }), [
    '+ Setup information file written to a user-writable folder <- iniInTemp',
  ]);
  t.deepEqual(flips({ comInterfaceGuids: ['{3E5FC7F9-9A51-4367-9063-A120244FBEC7}'] }), [
    '- Elevated child of the Connection Manager COM surrogate <- cmluautilChild',
  ]);
  t.deepEqual(flips({ externalIpAllowlist: ['10.0.0.0/8'] }), [
    '- cmstp.exe opens a network connection <- connectionToLab',
  ]);
  t.deepEqual(flips({ externalIpAllowlist: ['10.20.0.6/32', '192.168.0.0/16'] }), []);
  t.deepEqual(
    flips({
      registryKeyAllowlist: ['HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE\\*'],
    }),
    ['- Connection Manager App Paths key written <- appPathsWrite'],
  );
  t.deepEqual(flips({ registryKeyAllowlist: ['HKLM\\SOFTWARE\\Vendor\\*'] }), []);
});

test('#21 a run names its tuning: the default as such, any other by a hash of its values', (t) => {
  t.is(tuningLabel(defaultTuning), 'default');
  t.is(tuningLabel({ ...defaultTuning, comInterfaceGuids: [...defaultTuning.comInterfaceGuids] }), 'default');
  const wider = tuningLabel({ ...defaultTuning, externalIpAllowlist: ['10.0.0.0/8'] });
  const narrower = tuningLabel({ ...defaultTuning, externalIpAllowlist: ['10.20.0.0/16'] });
  t.regex(wider, /^custom, sha256 [0-9a-f]{12}$/);
  t.not(wider, narrower);
});
