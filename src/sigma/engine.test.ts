import test from 'ava';
import { compileRule, SigmaUnsupportedError } from './engine.js';
import { loadOurDetections } from './load.js';
import { SigmaRule } from './rule.js';

const channel = 'Microsoft-Windows-Sysmon/Operational';

function rule(detection: Record<string, unknown>, category = 'process_creation') {
  return compileRule(
    SigmaRule.parse({
      title: 't',
      id: 'r1',
      level: 'low',
      logsource: { product: 'windows', category },
      detection,
    }),
  );
}

const cmstp = {
  EventID: 1,
  Channel: channel,
  Image: 'C:\\Windows\\System32\\cmstp.exe',
  CommandLine: '"C:\\Windows\\System32\\cmstp.exe" /s /ns C:\\ProgramData\\x.inf',
  ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
};

test('modifiers match case-insensitively; wildcards and escapes work', (t) => {
  t.true(rule({ s: { 'Image|endswith': '\\CMSTP.EXE' }, condition: 's' }).matches(cmstp));
  t.true(
    rule({ s: { 'CommandLine|contains|all': [' /s', '\\programdata\\'] }, condition: 's' }).matches(cmstp),
  );
  t.false(rule({ s: { 'CommandLine|contains|all': [' /s', ' /au'] }, condition: 's' }).matches(cmstp));
  t.true(rule({ s: { Image: 'C:\\\\*\\cmstp.ex?' }, condition: 's' }).matches(cmstp));
  t.false(rule({ s: { Image: 'cmstp.exe' }, condition: 's' }).matches(cmstp));
  t.true(rule({ s: { 'Image|startswith': 'c:\\windows' }, condition: 's' }).matches(cmstp));
  t.true(rule({ s: { 'CommandLine|re': '/s /ns [A-Z]:' }, condition: 's' }).matches(cmstp));
  t.false(rule({ s: { 'CommandLine|re': '/S /NS' }, condition: 's' }).matches(cmstp));
  t.true(rule({ s: { 'Missing|exists': false }, condition: 's' }).matches(cmstp));
  t.true(rule({ s: { Missing: null }, condition: 's' }).matches(cmstp));
  t.true(rule({ s: { Literal: 'a\\*b' }, condition: 's' }).matches({ ...cmstp, Literal: 'A*B' }));
  t.false(rule({ s: { Literal: 'a\\*b' }, condition: 's' }).matches({ ...cmstp, Literal: 'axxb' }));
});

test('conditions: and/or/not, parentheses, x of, them', (t) => {
  const d = {
    sel_a: { 'Image|endswith': '\\cmstp.exe' },
    sel_b: { 'CommandLine|contains': '/au' },
    filter: { 'ParentImage|endswith': '\\explorer.exe' },
  };

  t.true(rule({ ...d, condition: 'sel_a and not filter' }).matches(cmstp));
  t.false(rule({ ...d, condition: 'all of sel_*' }).matches(cmstp));
  t.true(rule({ ...d, condition: '1 of sel_*' }).matches(cmstp));
  t.true(rule({ ...d, condition: 'sel_b or (sel_a and not filter)' }).matches(cmstp));
  t.false(rule({ ...d, condition: 'not (sel_a or sel_b)' }).matches(cmstp));
  t.false(rule({ ...d, condition: 'all of them' }).matches(cmstp));
  t.true(rule({ ...d, condition: ['sel_b', 'sel_a'] }).matches(cmstp));
});

test('logsource maps to the Sysmon channel and event id', (t) => {
  const r = rule({ s: { 'Image|endswith': '\\cmstp.exe' }, condition: 's' });

  t.false(r.matches({ ...cmstp, EventID: 11 }));
  t.false(r.matches({ ...cmstp, Channel: 'Security' }));
  t.true(
    rule({ s: { 'TargetFilename|endswith': '.inf' }, condition: 's' }, 'file_event').matches({
      EventID: 11,
      Channel: channel,
      TargetFilename: 'C:\\x.INF',
    }),
  );
});

test('unsupported features are refused by name, never approximated', (t) => {
  t.throws(() => rule({ s: { 'Image|expand': '%x%' }, condition: 's' }), {
    instanceOf: SigmaUnsupportedError,
    message: /placeholder %x% with no values/,
  });
  t.throws(() => rule({ s: { Image: 'x' }, condition: 's | count() > 5' }), {
    instanceOf: SigmaUnsupportedError,
  });
  t.throws(() => rule({ s: { Image: 'x' }, condition: 'nope' }), {
    instanceOf: SigmaUnsupportedError,
    message: /unknown selection "nope"/,
  });
  t.throws(() => rule({ s: { Image: 'x' }, condition: 's' }, 'file_access'), {
    instanceOf: SigmaUnsupportedError,
    message: /category "file_access" \(its events come from the ETW provider Microsoft-Windows-Kernel-File/,
  });
});

test('our detections all load, and fire on the behaviours they are written for', (t) => {
  const { loaded, refused } = loadOurDetections();

  t.deepEqual(refused, []);
  t.true(loaded.length >= 3);
  const fired = (event: Record<string, unknown>) =>
    loaded.filter((r) => r.matches(event)).map((r) => r.title);
  t.deepEqual(fired(cmstp), ['CMSTP installs a Connection Manager profile from an unusual place']);
  t.deepEqual(
    fired({
      EventID: 1,
      Channel: channel,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      ParentImage: 'C:\\Windows\\System32\\cmstp.exe',
    }),
    ['Process started by cmstp.exe'],
  );
  t.deepEqual(
    fired({
      EventID: 11,
      Channel: channel,
      Image: 'C:\\x\\sftp-server.exe',
      TargetFilename: 'C:\\ProgramData\\p\\x.inf',
    }),
    ['Setup information file written to a user-writable folder'],
  );
  // Benign look-alikes stay quiet.
  t.deepEqual(fired({ ...cmstp, CommandLine: 'cmstp.exe C:\\Program Files\\Vendor\\profile.inf' }), []);
  t.deepEqual(
    fired({
      EventID: 1,
      Channel: channel,
      Image: 'C:\\Windows\\System32\\cmmgr32.exe',
      ParentImage: 'C:\\Windows\\System32\\cmstp.exe',
    }),
    [],
  );
  t.deepEqual(
    fired({
      EventID: 11,
      Channel: channel,
      Image: 'C:\\Windows\\System32\\msiexec.exe',
      TargetFilename: 'C:\\Windows\\Temp\\x.inf',
    }),
    [],
  );
});

test('literal values compare as the case-insensitive regex does, letters that lower-case into ASCII included', (t) => {
  const on = (spec: string, value: unknown, field: unknown) =>
    rule({ s: { [spec]: value }, condition: 's' }).matches({ ...cmstp, F: field });

  t.true(on('F|endswith', '\\k.exe', 'C:\\X\\K.EXE'));
  // The Kelvin sign lower-cases to k and the dotted capital I to i + a combining dot; the regex's `i` flag
  // matches neither to an ASCII letter, so neither does a literal.
  t.false(on('F|endswith', '\\k.exe', 'C:\\X\\\u212A.exe'));
  t.false(on('F|startswith', 'i', '\u0130x'));
  t.false(on('F|contains', 'ss', 'stra\u00DFe'));
  t.true(on('F|contains', 'STRA', 'stra\u00DFe'));
  t.false(on('F|cased', 'CMSTP', 'cmstp'));
  t.true(on('F|cased', 'CMSTP', 'CMSTP'));
  t.true(on('F', 4444, 4444));
  t.false(on('F', 4444, '04444'));
  t.true(on('F', '', ''));
  t.false(on('F', '', null));
  t.true(on('F|contains', '', 'anything'));
  t.true(on('F|contains', 'true', true));
  t.true(on('F|contains', '"a":1', { a: 1 }));
});

test('#17 a refusal names every unsupported feature of the rule in one sentence', (t) => {
  const refused = t.throws(
    () =>
      compileRule(
        SigmaRule.parse({
          title: 't',
          id: 'r',
          level: 'low',
          logsource: { product: 'windows', category: 'process_creation', service: 'nope' },
          detection: {
            a: { 'Image|expand': '%x%', 'CommandLine|re': '(?x)a b' },
            b: { 'ParentImage|fieldref|re': 'Image' },
            condition: 'a and b | count() > 2',
            timeframe: '5m',
          },
        }),
      ),
    { instanceOf: SigmaUnsupportedError },
  );
  t.is(
    refused.message,
    `timeframe, placeholder %x% with no values (set placeholders.x in the local SIEM's options), regex inline flag "x" in selection "a", fieldref with "re" in selection "b", aggregation pipes in conditions ("a and b | count() > 2") and logsource service "nope"`,
  );
});

test("#17 expand: a rule's %name% stands for each configured value, combinations included, with the field's other modifiers", (t) => {
  const compile = (detection: Record<string, unknown>) =>
    compileRule(
      SigmaRule.parse({
        title: 't',
        id: 'e',
        level: 'low',
        logsource: { product: 'windows', category: 'process_creation' },
        detection,
      }),
      {
        placeholders: {
          Admins_Workstations: ['WS-ADMIN-1', 'JUMP*'],
          tool: ['cmstp', 'rundll32'],
          ext: ['.inf', '.ini'],
        },
      },
    );
  const event = (fields: Record<string, unknown>) => ({ EventID: 1, Channel: channel, ...fields });

  const hosts = compile({ s: { 'Computer|expand': '%Admins_Workstations%' }, condition: 's' });
  t.true(hosts.matches(event({ Computer: 'ws-admin-1' })));
  t.true(
    hosts.matches(event({ Computer: 'JUMP07' })),
    'a configured value is a Sigma string: * is a wildcard',
  );
  t.false(hosts.matches(event({ Computer: 'WS-ADMIN-2' })));

  const combined = compile({ s: { 'CommandLine|contains|expand': '%tool%.exe /s x%ext%' }, condition: 's' });
  for (const line of ['cmstp.exe /s x.inf', 'a rundll32.exe /s x.ini b'])
    t.true(combined.matches(event({ CommandLine: line })), line);
  t.false(combined.matches(event({ CommandLine: 'cmstp.exe /s x.sct' })));

  const all = compile({ s: { 'CommandLine|contains|all|expand': ['%tool%', 'x'] }, condition: 's' });
  t.false(all.matches(event({ CommandLine: 'cmstp x' })), 'all: every expanded value must be there');
  t.true(all.matches(event({ CommandLine: 'cmstp rundll32 x' })));
});
