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

const refusals: [string, Record<string, unknown>, RegExp, string?][] = [
  ['an unknown modifier', { s: { 'Image|fieldref': 'x' }, condition: 's' }, /modifier "fieldref"/],
  ['expand', { s: { 'Image|expand': '%x%' }, condition: 's' }, /modifier "expand"/],
  ['a bad cidr', { s: { 'DestinationIp|cidr': 'nope' }, condition: 's' }, /cidr value/],
  ['a bad regex', { s: { 'CommandLine|re': '(' }, condition: 's' }, /regular expression/],
  ['regex flags without re', { s: { 'CommandLine|i': 'x' }, condition: 's' }, /regex flags without re/],
  [
    'wide without base64',
    { s: { 'CommandLine|wide|contains': 'x' }, condition: 's' },
    /wide\/utf16le without base64/,
  ],
  ['an aggregation', { s: { Image: 'x' }, condition: 's | count() > 5' }, /aggregation pipes/],
  ['timeframe', { s: { Image: 'x' }, condition: 's', timeframe: '5m' }, /timeframe/],
  ['an unknown selection', { s: { Image: 'x' }, condition: 's and t' }, /unknown selection "t"/],
  ['a pattern that names nothing', { s: { Image: 'x' }, condition: '1 of z*' }, /names no selection/],
  ['unbalanced parentheses', { s: { Image: 'x' }, condition: '(s' }, /ends early|unbalanced/],
  [
    'a logsource we do not map',
    { s: { Image: 'x' }, condition: 's' },
    /category "pipe_created"/,
    'pipe_created',
  ],
];

for (const [name, detection, message, category] of refusals) {
  test(`refused with a named error: ${name}`, (t) => {
    t.throws(() => matches(detection, {}, category), { instanceOf: SigmaUnsupportedError, message });
  });
}
