import test, { type ExecutionContext } from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pluginContext } from '../../../test/helpers/lab.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { openLocalSiem } from './connector.js';
import { LocalSiemOptions } from './schema.js';

const channel = 'Microsoft-Windows-Sysmon/Operational';
const base = (id: string, name: string, image: string): string =>
  [
    `title: ${name}`,
    `id: ${id}`,
    `name: ${name}`,
    'level: low',
    'logsource: { product: windows, category: process_creation }',
    'detection:',
    `  s: { 'Image|endswith': '\\${image}' }`,
    '  condition: s',
  ].join('\n');

/** A folder with one file of rules (YAML documents) and the local SIEM that loads it. */
function siemWith(t: ExecutionContext, ...documents: string[]) {
  const dir = join(tempDir(t), 'rules');
  mkdirSync(dir);
  writeFileSync(join(dir, 'correlated.yml'), documents.join('\n---\n'));
  const opened = openLocalSiem(
    LocalSiemOptions.parse({ database: ':memory:', rules: [dir] }),
    pluginContext(),
  );
  t.teardown(() => {
    opened.siem.closeStore();
  });
  // Our own rules (detections/) are loaded too; only this test's rules are looked at.
  const store = (seconds: number, host: string, image: string, extra: Record<string, unknown> = {}) =>
    ours(
      opened.siem.store([
        {
          time: new Date(Date.UTC(2026, 11, 4, 12, 0, seconds)).toISOString(),
          host,
          sourcetype: 'test',
          meta: {},
          fields: { EventID: 1, Channel: channel, Computer: host, Image: `C:\\x\\${image}`, ...extra },
        },
      ]),
    );
  return { ...opened, store };
}

/** The ids of this test's rules that raised alerts, sorted. */
function ours(counts: ReadonlyMap<string, unknown>): string[] {
  return [...counts.keys()].filter((id) => /^(7d0c2b1a|a1b2c3d4)-/.test(id)).sort();
}

const eventCount = [
  'title: cmstp three times on one host within a minute',
  'id: 7d0c2b1a-3e4f-4a5b-8c6d-9e0f1a2b3c4d',
  'level: high',
  'correlation:',
  '  type: event_count',
  '  rules: [cmstp_start]',
  '  group-by: [Computer]',
  '  timespan: 1m',
  '  condition: { gte: 3 }',
].join('\n');
const eventCountId = '7d0c2b1a-3e4f-4a5b-8c6d-9e0f1a2b3c4d';

test('#17 event_count: fires once when the third match in a group falls within the timespan; other groups, older matches and the named rule itself raise nothing', (t) => {
  const { store, rules } = siemWith(
    t,
    base('a1b2c3d4-0000-4000-8000-000000000001', 'cmstp_start', 'cmstp.exe'),
    eventCount,
  );
  t.deepEqual(
    rules.correlations.map((c) => [c.id, c.ruleIds]),
    [[eventCountId, ['a1b2c3d4-0000-4000-8000-000000000001']]],
  );

  t.deepEqual(
    [...store(0, 'WS1', 'cmstp.exe')],
    [],
    'the named rule only feeds the correlation (generate: false)',
  );
  store(10, 'WS2', 'cmstp.exe');
  store(20, 'WS2', 'cmstp.exe');
  t.deepEqual(store(30, 'WS1', 'cmstp.exe'), [], 'two on WS1, two on WS2: no group has three');
  t.deepEqual(store(40, 'WS1', 'notepad.exe'), [], 'an event the rule does not match counts for nothing');
  t.deepEqual(store(55, 'WS1', 'cmstp.exe'), [eventCountId]);
  t.deepEqual(store(56, 'WS1', 'cmstp.exe'), [], 'one alert per group and window');
  // 12:01:45: the window (12:00:45 - 12:01:45) holds 12:00:55, 12:00:56 and this one, but the correlation
  // fired within it already; 12:02:57 holds only itself and 12:01:58.
  store(105, 'WS1', 'cmstp.exe');
  store(118, 'WS1', 'cmstp.exe');
  t.deepEqual(store(177, 'WS1', 'cmstp.exe'), []);
});

test('#17 value_count counts distinct values of its field; temporal needs every named rule in the window; generate keeps the named rules alerting', (t) => {
  const spawn = base('a1b2c3d4-0000-4000-8000-000000000002', 'spawn', 'cmd.exe');
  const cmstp = base('a1b2c3d4-0000-4000-8000-000000000003', 'cmstp_run', 'cmstp.exe');
  const valueCount = [
    'title: cmd with three command lines',
    'id: 7d0c2b1a-3e4f-4a5b-8c6d-000000000002',
    'level: medium',
    'correlation:',
    '  type: value_count',
    '  rules: spawn',
    '  group-by: [Computer]',
    '  timespan: 5m',
    '  condition: { gte: 3, field: CommandLine }',
  ].join('\n');
  const temporal = [
    'title: cmstp then cmd',
    'id: 7d0c2b1a-3e4f-4a5b-8c6d-000000000003',
    'level: high',
    'correlation:',
    '  type: temporal',
    '  rules: [cmstp_run, a1b2c3d4-0000-4000-8000-000000000002]',
    '  group-by: [Computer]',
    '  timespan: 30s',
    '  generate: true',
  ].join('\n');
  const { store } = siemWith(t, spawn, cmstp, valueCount, temporal);

  t.deepEqual(store(0, 'WS1', 'cmd.exe', { CommandLine: 'cmd /c a' }), [
    'a1b2c3d4-0000-4000-8000-000000000002',
  ]);
  t.deepEqual(
    store(1, 'WS1', 'cmd.exe', { CommandLine: 'CMD /C A' }),
    ['a1b2c3d4-0000-4000-8000-000000000002'],
    'the same value, in another case',
  );
  t.deepEqual(store(2, 'WS1', 'cmd.exe', { CommandLine: 'cmd /c b' }), [
    'a1b2c3d4-0000-4000-8000-000000000002',
  ]);
  t.deepEqual(
    store(3, 'WS1', 'cmstp.exe'),
    ['7d0c2b1a-3e4f-4a5b-8c6d-000000000003', 'a1b2c3d4-0000-4000-8000-000000000003'],
    'cmstp after cmd within 30 s: the temporal correlation, and the named rule itself (generate: true)',
  );
  t.deepEqual(store(4, 'WS1', 'cmd.exe', { CommandLine: 'cmd /c c' }), [
    '7d0c2b1a-3e4f-4a5b-8c6d-000000000002',
    'a1b2c3d4-0000-4000-8000-000000000002',
  ]);
  t.deepEqual(store(100, 'WS2', 'cmstp.exe'), ['a1b2c3d4-0000-4000-8000-000000000003'], 'cmstp alone on WS2');
});

test('#17 a correlation naming a rule that is not loaded, or one we cannot decide as matches arrive, is refused with every reason', (t) => {
  const { rules } = siemWith(
    t,
    base('a1b2c3d4-0000-4000-8000-000000000004', 'known', 'cmstp.exe'),
    [
      'title: x',
      'id: c-1',
      'level: low',
      'correlation: { type: event_count, rules: [unknown_rule], timespan: 5m, condition: { gte: 2 } }',
    ].join('\n'),
    [
      'title: y',
      'id: c-2',
      'level: low',
      'correlation: { type: temporal_ordered, rules: [known], timespan: 5w, condition: { lt: 2 }, aliases: {} }',
    ].join('\n'),
    [
      'title: z',
      'id: c-3',
      'level: low',
      'correlation: { type: value_count, rules: [known], timespan: 5m, condition: { gte: 2 } }',
    ].join('\n'),
  );

  t.deepEqual(rules.correlations, []);
  t.deepEqual(
    rules.refused.map((r) => [r.file.replace(/.*correlated\.yml/, 'correlated.yml'), r.reason]),
    [
      [
        'correlated.yml (rule 3)',
        'unsupported: correlation type "temporal_ordered", correlation aliases, correlation timespan "5w" and correlation condition "lt" (only gt, gte and eq can be decided as matches arrive)',
      ],
      ['correlated.yml (rule 4)', 'unsupported: value_count without a condition field'],
      ['correlated.yml (rule 2)', 'names "unknown_rule", which no loaded rule is (by id or name)'],
    ],
  );
});
