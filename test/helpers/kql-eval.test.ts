import test from 'ava';
import { evaluateKql, type KqlRow } from './kql-eval.js';
import type { KustoWorkspace } from './kusto.js';

// The Sentinel fake's evaluator is itself held to the KQL reference, rule by rule.
const workspace: KustoWorkspace = {
  tables: { T: '(TimeGenerated:datetime, Name:string, Pid:string, EventID:int)' },
  functions: { F: 'datatable(TimeGenerated:datetime, Name:string, Pid:long)[]' },
};
const at = new Date('2026-12-04T10:00:00.000Z');
const data: Record<string, KqlRow[]> = {
  T: [
    { TimeGenerated: at, Name: 'C:\\Windows\\CMSTP.EXE', Pid: '0x10', EventID: 4688 },
    { TimeGenerated: new Date(at.getTime() + 1000), Name: 'other', Pid: '7', EventID: 1 },
  ],
  F: [{ TimeGenerated: at, Name: 'C:\\Windows\\cmstp.exe', Pid: 16 }],
};
const names = (query: string): unknown[] => {
  const answer = evaluateKql(query, workspace, data);
  if ('refused' in answer) throw new Error(answer.refused);
  return answer.rows.map((r) => r.Name);
};

test('=~, contains, startswith and endswith ignore case; == and in do not', (t) => {
  t.deepEqual(names('T | where Name endswith @"\\cmstp.exe"'), ['C:\\Windows\\CMSTP.EXE']);
  t.deepEqual(names('T | where Name =~ @"c:\\windows\\cmstp.exe"'), ['C:\\Windows\\CMSTP.EXE']);
  t.deepEqual(names('T | where Name == @"c:\\windows\\cmstp.exe"'), []);
  t.deepEqual(names('T | where Name contains "WINDOWS" and EventID in (4688, 1)'), [
    'C:\\Windows\\CMSTP.EXE',
  ]);
});

test('between includes both ends; a number from text that is no number matches nothing', (t) => {
  t.deepEqual(
    names(
      'T | where TimeGenerated between (datetime(2026-12-04T10:00:00.000Z) .. datetime(2026-12-04T10:00:01.000Z))',
    ),
    ['C:\\Windows\\CMSTP.EXE', 'other'],
  );
  t.deepEqual(names('T | where tolong(Pid) == 7'), ['other']);
  t.deepEqual(names('T | where tolong(Pid) == 16'), []);
  t.deepEqual(names('F | where tolong(Pid) == 16 | extend X = 3'), ['C:\\Windows\\cmstp.exe']);
});

test('a fuzzy union skips what does not resolve; a plain one and a type error are refused as the binder refuses them', (t) => {
  t.deepEqual(names('union isfuzzy=true (T | where EventID in (1)), (Missing | where A == 1)'), ['other']);
  t.true('refused' in evaluateKql('union (T), (Missing)', workspace, data));
  const typed = evaluateKql('F | where Pid =~ @"16"', workspace, data);
  t.true('refused' in typed && /long and string/.test(typed.refused));
});
