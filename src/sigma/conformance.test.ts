import test from 'ava';
import { compileRule, SigmaUnsupportedError } from './engine.js';
import { SigmaRule } from './rule.js';

/**
 * Conformance: each modifier and each condition form, with a positive and a negative case
 * (Sigma specification v2.1; value semantics as in siem-apis.md 7.2).
 */
const channel = 'Microsoft-Windows-Sysmon/Operational';
const base = { EventID: 1, Channel: channel };

function matches(
  detection: Record<string, unknown>,
  event: Record<string, unknown>,
  category = 'process_creation',
): boolean {
  const rule = SigmaRule.parse({
    title: 't',
    id: 'c',
    level: 'low',
    logsource: { product: 'windows', category },
    detection,
  });
  return compileRule(rule).matches({ ...base, ...event });
}

const b64 = (text: string, encoding: BufferEncoding = 'utf8'): string =>
  Buffer.from(text, encoding).toString('base64');

const cases: [
  name: string,
  detection: Record<string, unknown>,
  yes: Record<string, unknown>,
  no: Record<string, unknown>,
][] = [
  [
    'plain value: whole-field, case-insensitive',
    { s: { Image: 'C:\\X\\cmstp.exe' } },
    { Image: 'c:\\x\\CMSTP.EXE' },
    { Image: 'C:\\X\\cmstp.exe.bak' },
  ],
  [
    'wildcards * and ?',
    { s: { Image: '*\\cmst?.exe' } },
    { Image: 'C:\\W\\cmstp.exe' },
    { Image: 'C:\\W\\cmstpp.exe' },
  ],
  [
    'escaped \\* is a literal star',
    { s: { CommandLine: 'a\\*b' } },
    { CommandLine: 'a*b' },
    { CommandLine: 'axxb' },
  ],
  [
    'list of values is OR',
    { s: { Image: ['*\\a.exe', '*\\b.exe'] } },
    { Image: 'C:\\b.exe' },
    { Image: 'C:\\c.exe' },
  ],
  [
    'map of fields is AND',
    { s: { Image: '*\\a.exe', User: 'x\\y' } },
    { Image: 'C:\\a.exe', User: 'X\\Y' },
    { Image: 'C:\\a.exe', User: 'x\\z' },
  ],
  [
    'list of maps is OR',
    { s: [{ Image: '*\\a.exe' }, { User: 'x' }] },
    { Image: 'q', User: 'x' },
    { Image: 'q', User: 'y' },
  ],
  [
    'keywords search every field',
    { k: ['uacbypass'] },
    { CommandLine: 'x T1218_UACBYPASS.inf' },
    { CommandLine: 'nothing' },
  ],
  [
    'contains',
    { s: { 'CommandLine|contains': '/au' } },
    { CommandLine: 'cmstp /s x.inf /AU' },
    { CommandLine: 'cmstp /s x.inf' },
  ],
  [
    'startswith',
    { s: { 'CommandLine|startswith': '"C:\\Windows' } },
    { CommandLine: '"c:\\windows\\x" /s' },
    { CommandLine: 'x "C:\\Windows' },
  ],
  [
    'endswith',
    { s: { 'Image|endswith': '\\cmstp.exe' } },
    { Image: 'C:\\W\\CMSTP.exe' },
    { Image: 'C:\\W\\cmstp.exe.x' },
  ],
  [
    'contains|all',
    { s: { 'CommandLine|contains|all': ['/s', '.inf'] } },
    { CommandLine: 'cmstp /s a.inf' },
    { CommandLine: 'cmstp a.inf' },
  ],
  [
    'cased',
    { s: { 'CommandLine|contains|cased': 'AU' } },
    { CommandLine: 'x /AU' },
    { CommandLine: 'x /au' },
  ],
  [
    're (case-sensitive by default)',
    { s: { 'CommandLine|re': '/s [A-Z]:\\\\' } },
    { CommandLine: 'cmstp /s C:\\x' },
    { CommandLine: 'cmstp /s c:\\x' },
  ],
  [
    're|i',
    { s: { 'CommandLine|re|i': '^cmstp\\s+/S' } },
    { CommandLine: 'CMSTP /s x' },
    { CommandLine: 'x cmstp /s' },
  ],
  [
    're|m',
    { s: { 'CommandLine|re|m': '^second$' } },
    { CommandLine: 'first\nsecond' },
    { CommandLine: 'first second' },
  ],
  ['re|s', { s: { 'CommandLine|re|s': 'a.b' } }, { CommandLine: 'a\nb' }, { CommandLine: 'a\n\nb' }],
  [
    'windash',
    { s: { 'CommandLine|windash|contains': ' -s ' } },
    { CommandLine: 'cmstp \u2013s x' },
    { CommandLine: 'cmstp s x' },
  ],
  [
    'windash also covers /',
    { s: { 'CommandLine|windash|contains': ' -au' } },
    { CommandLine: 'cmstp /au' },
    { CommandLine: 'cmstp au' },
  ],
  [
    'cidr v4',
    { s: { 'DestinationIp|cidr': '10.0.0.0/8' } },
    { DestinationIp: '10.1.2.3' },
    { DestinationIp: '11.1.2.3' },
  ],
  [
    'cidr v6',
    { s: { 'DestinationIp|cidr': 'fe80::/10' } },
    { DestinationIp: 'fe80::1' },
    { DestinationIp: '2001:db8::1' },
  ],
  ['exists: true', { s: { 'CallTrace|exists': true } }, { CallTrace: 'x' }, {}],
  ['exists: false', { s: { 'CallTrace|exists': false } }, {}, { CallTrace: 'x' }],
  [
    'null means absent or empty',
    { s: { ParentImage: null } },
    { ParentImage: '' },
    { ParentImage: 'C:\\x.exe' },
  ],
  [
    'base64',
    { s: { 'CommandLine|base64|contains': 'cmstp' } },
    { CommandLine: `-enc ${b64('cmstp')}` },
    { CommandLine: 'cmstp' },
  ],
  [
    'base64offset at every offset',
    { s: { 'CommandLine|base64offset|contains': 'cmstp.exe' } },
    { CommandLine: b64('xx cmstp.exe /s') },
    { CommandLine: b64('xx notepad.exe') },
  ],
  [
    'wide|base64offset (PowerShell -enc)',
    { s: { 'CommandLine|wide|base64offset|contains': 'cmstp' } },
    { CommandLine: `-enc ${b64('& cmstp /s', 'utf16le')}` },
    { CommandLine: `-enc ${b64('& cmstp /s')}` },
  ],
  [
    'utf16be|base64',
    { s: { 'CommandLine|utf16be|base64|contains': 'cmd' } },
    { CommandLine: `x ${Buffer.from('\0c\0m\0d', 'latin1').toString('base64')}` },
    { CommandLine: `x ${b64('cmd', 'utf16le')}` },
  ],
  [
    'utf16|base64 (with a byte order mark)',
    { s: { 'CommandLine|utf16|base64|contains': 'cmd' } },
    {
      CommandLine: `x ${Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('cmd', 'utf16le')]).toString('base64')}`,
    },
    { CommandLine: `x ${b64('cmd', 'utf16le')}` },
  ],
  [
    're with a leading (?i)',
    { s: { 'CommandLine|re': '(?i)CMSTP /S' } },
    { CommandLine: 'cmstp /s' },
    { CommandLine: 'cmstp /u' },
  ],
  [
    're with (?is)',
    { s: { 'CommandLine|re': '(?is)^A.B$' } },
    { CommandLine: 'a\nb' },
    { CommandLine: 'a\n\nb' },
  ],
  [
    'fieldref: equal to another field',
    { s: { 'SourceImage|fieldref': 'TargetImage' } },
    { SourceImage: 'C:\\A.exe', TargetImage: 'c:\\a.EXE' },
    { SourceImage: 'C:\\a.exe', TargetImage: 'C:\\b.exe' },
  ],
  [
    'fieldref|endswith',
    { s: { 'CommandLine|fieldref|endswith': 'Image' } },
    { CommandLine: 'run C:\\x.exe', Image: 'C:\\X.exe' },
    { CommandLine: 'C:\\x.exe run', Image: 'C:\\x.exe' },
  ],
  ['fieldref|cased', { s: { 'A|fieldref|cased': 'B' } }, { A: 'Ab', B: 'Ab' }, { A: 'Ab', B: 'ab' }],
  ['fieldref to a missing field', { s: { 'A|fieldref': 'B' } }, { A: '', B: '' }, { A: '' }],
  ['lt', { s: { 'Count|lt': 10 } }, { Count: '9' }, { Count: 10 }],
  ['lte', { s: { 'Count|lte': 10 } }, { Count: 10 }, { Count: 'ten' }],
  ['gt', { s: { 'Count|gt': '0x0' } }, { Count: 1 }, { Count: 0 }],
  ['gte', { s: { 'Count|gte': [5, 100] } }, { Count: 5 }, { Count: 4.5 }],
];

for (const [name, detection, yes, no] of cases) {
  test(`modifier ${name}`, (t) => {
    const rule = { ...detection, condition: Object.keys(detection)[0] ?? 's' };
    t.true(matches(rule, yes), 'positive case');
    t.false(matches(rule, no), 'negative case');
  });
}

const selections = {
  a: { Image: '*\\a.exe' },
  b: { User: 'u' },
  c_one: { CommandLine: '*x*' },
  c_two: { CommandLine: '*y*' },
  _hidden: { User: 'h' },
};
const conditions: [
  condition: string | string[],
  yes: Record<string, unknown>,
  no: Record<string, unknown>,
][] = [
  ['a and b', { Image: 'C:\\a.exe', User: 'u' }, { Image: 'C:\\a.exe', User: 'v' }],
  ['a or b', { Image: 'q', User: 'u' }, { Image: 'q', User: 'v' }],
  ['a and not b', { Image: 'C:\\a.exe', User: 'v' }, { Image: 'C:\\a.exe', User: 'u' }],
  ['not a', { Image: 'q' }, { Image: 'C:\\a.exe' }],
  ['(a or b) and c_one', { User: 'u', CommandLine: 'x' }, { User: 'u', CommandLine: 'z' }],
  ['a or b and c_one', { Image: 'C:\\a.exe', CommandLine: 'z' }, { User: 'u', CommandLine: 'z' }],
  ['1 of c_*', { CommandLine: 'y' }, { CommandLine: 'z' }],
  ['all of c_*', { CommandLine: 'xy' }, { CommandLine: 'x' }],
  ['1 of them', { User: 'u' }, { Image: 'q', User: 'h', CommandLine: 'z' }],
  [
    'all of them',
    { Image: 'C:\\a.exe', User: 'u', CommandLine: 'xy' },
    { Image: 'C:\\a.exe', User: 'u', CommandLine: 'x' },
  ],
  [['a', 'b'], { User: 'u' }, { User: 'v' }],
];

for (const [condition, yes, no] of conditions) {
  test(`condition ${JSON.stringify(condition)}`, (t) => {
    t.true(matches({ ...selections, condition }, yes), 'positive case');
    t.false(matches({ ...selections, condition }, no), 'negative case');
  });
}

test('process_creation also matches Security 4688 through the field map', (t) => {
  const security = {
    EventID: 4688,
    Channel: 'Security',
    NewProcessName: 'C:\\W\\cmstp.exe',
    ParentProcessName: 'C:\\W\\powershell.exe',
    CommandLine: 'cmstp /s x.inf',
  };

  t.true(
    matches(
      { s: { 'Image|endswith': '\\cmstp.exe', 'ParentImage|endswith': '\\powershell.exe' }, condition: 's' },
      security,
    ),
  );
  t.false(
    matches({ s: { 'Image|endswith': '\\cmstp.exe' }, condition: 's' }, { ...security, EventID: 4689 }),
  );
  t.false(
    matches(
      { s: { 'TargetFilename|endswith': '.inf' }, condition: 's' },
      { ...security, TargetFilename: 'x.inf' },
      'file_event',
    ),
  );
});

test('#17 log sources follow the Sigma Windows taxonomy: Sysmon categories, PowerShell logging, services, product only', (t) => {
  const rule = (logsource: Record<string, string>) =>
    compileRule(
      SigmaRule.parse({
        title: 't',
        id: 'l',
        level: 'low',
        logsource: { product: 'windows', ...logsource },
        detection: { s: { 'X|contains': 'hit' }, condition: 's' },
      }),
    );
  const event = (Channel: string, EventID: number) => ({ Channel, EventID, X: 'a hit' });
  const sysmon = 'Microsoft-Windows-Sysmon/Operational';
  const cases: [Record<string, string>, yes: [string, number][], no: [string, number][]][] = [
    [
      { category: 'pipe_created' },
      [
        [sysmon, 17],
        [sysmon, 18],
      ],
      [
        [sysmon, 19],
        ['Security', 17],
      ],
    ],
    [
      { category: 'wmi_event' },
      [
        [sysmon, 19],
        [sysmon, 21],
      ],
      [[sysmon, 22]],
    ],
    [{ category: 'create_remote_thread' }, [[sysmon, 8]], [[sysmon, 10]]],
    [
      { category: 'file_delete' },
      [
        [sysmon, 23],
        [sysmon, 26],
      ],
      [[sysmon, 11]],
    ],
    [
      { category: 'ps_script' },
      [
        ['Microsoft-Windows-PowerShell/Operational', 4104],
        ['PowerShellCore/Operational', 4104],
      ],
      [
        ['Microsoft-Windows-PowerShell/Operational', 4103],
        ['Windows PowerShell', 4104],
      ],
    ],
    [{ category: 'ps_classic_start' }, [['Windows PowerShell', 400]], [['Windows PowerShell', 800]]],
    [
      { service: 'windefend' },
      [['Microsoft-Windows-Windows Defender/Operational', 1116]],
      [['System', 1116]],
    ],
    [{ service: 'system' }, [['System', 7045]], [['Application', 7045]]],
    [{ service: 'applocker' }, [['Microsoft-Windows-AppLocker/MSI and Script', 8005]], [[sysmon, 1]]],
    [{ service: 'powershell' }, [['PowerShellCore/Operational', 4103]], [['Windows PowerShell', 400]]],
    [{ category: 'process_creation', service: 'sysmon' }, [[sysmon, 1]], [['Security', 4688]]],
    [
      { category: 'ps_module', service: 'powershell' },
      [['Microsoft-Windows-PowerShell/Operational', 4103]],
      [[sysmon, 1]],
    ],
    // A rule with only product: windows runs over every Windows source, not Sysmon alone.
    [
      {},
      [
        [sysmon, 1],
        ['Security', 4663],
        ['System', 7045],
        ['Windows PowerShell', 400],
      ],
      [],
    ],
  ];
  for (const [logsource, yes, no] of cases) {
    const compiled = rule(logsource);
    for (const [channel, id] of yes)
      t.true(
        compiled.matches(event(channel, id)),
        `${JSON.stringify(logsource)} on ${channel} ${String(id)}`,
      );
    for (const [channel, id] of no)
      t.false(
        compiled.matches(event(channel, id)),
        `${JSON.stringify(logsource)} not on ${channel} ${String(id)}`,
      );
    t.false(compiled.matches({ ...event(yes[0]?.[0] ?? '', yes[0]?.[1] ?? 0), X: 'miss' }));
  }
  t.throws(() => rule({ category: 'pipe_created', service: 'security' }), {
    instanceOf: SigmaUnsupportedError,
    message: 'logsource category "pipe_created" with service "security"',
  });
  t.throws(() => rule({ product: 'linux' }), { message: 'logsource product "linux"' });
});

const refusals: [string, Record<string, unknown>, RegExp, string?][] = [
  ['an unknown modifier', { s: { 'Image|nope': 'x' }, condition: 's' }, /modifier "nope"/],
  ['fieldref with re', { s: { 'Image|fieldref|re': 'x' }, condition: 's' }, /fieldref with "re"/],
  ['gt with a word', { s: { 'Count|gt': 'many' }, condition: 's' }, /"gt" with a value that is not a number/],
  [
    'an unknown inline regex flag',
    { s: { 'CommandLine|re': '(?x)a' }, condition: 's' },
    /regex inline flag "x"/,
  ],
  [
    'expand with a placeholder that has no values',
    { s: { 'Image|expand': '%x%' }, condition: 's' },
    /placeholder %x% with no values \(set placeholders\.x in the local SIEM's options\)/,
  ],
  ['a bad cidr', { s: { 'DestinationIp|cidr': 'nope' }, condition: 's' }, /cidr value/],
  ['a bad regex', { s: { 'CommandLine|re': '(' }, condition: 's' }, /regular expression/],
  ['regex flags without re', { s: { 'CommandLine|i': 'x' }, condition: 's' }, /regex flags without re/],
  [
    'wide without base64',
    { s: { 'CommandLine|wide|contains': 'x' }, condition: 's' },
    /wide\/utf16le\/utf16be\/utf16 without base64/,
  ],
  ['an aggregation', { s: { Image: 'x' }, condition: 's | count() > 5' }, /aggregation pipes/],
  ['timeframe', { s: { Image: 'x' }, condition: 's', timeframe: '5m' }, /timeframe/],
  ['an unknown selection', { s: { Image: 'x' }, condition: 's and t' }, /unknown selection "t"/],
  ['a pattern that names nothing', { s: { Image: 'x' }, condition: '1 of z*' }, /names no selection/],
  ['unbalanced parentheses', { s: { Image: 'x' }, condition: '(s' }, /ends early|unbalanced/],
  [
    'a category outside the event logs',
    { s: { Image: 'x' }, condition: 's' },
    /category "file_access" \(its events come from the ETW provider/,
    'file_access',
  ],
  ['a category Sigma does not define', { s: { Image: 'x' }, condition: 's' }, /category "nope"/, 'nope'],
];

for (const [name, detection, message, category] of refusals) {
  test(`refused with a named error: ${name}`, (t) => {
    t.throws(() => matches(detection, {}, category), { instanceOf: SigmaUnsupportedError, message });
  });
}
