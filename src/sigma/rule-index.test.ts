import test from 'ava';
import { otrfRecording } from '../../test/helpers/recordings.js';
import { existsSync } from 'node:fs';
import { parse } from 'yaml';
import { corpusEvents, sigmaCorpus } from '../../test/helpers/sigma-corpus.js';
import { readEvents } from '../ingest/read.js';
import { compileRule, type CompiledRule } from './engine.js';
import { loadOurDetections } from './load.js';
import { RuleIndex } from './rule-index.js';
import { SigmaRule } from './rule.js';

const sysmon = 'Microsoft-Windows-Sysmon/Operational';
const recording = otrfRecording;

const compile = (detection: Record<string, unknown>, logsource: Record<string, string>, id: string) =>
  compileRule(SigmaRule.parse({ title: id, id, level: 'low', logsource, detection }));

/** What trying every rule on the event gives: the index must give exactly this. */
const everyRule = (rules: readonly CompiledRule[], event: Record<string, unknown>): string[] =>
  rules.filter((r) => r.matches(event)).map((r) => r.id);

test('with 2,500 generated rules the index finds exactly the rules that trying every rule finds', (t) => {
  const rules = sigmaCorpus(2500).map((r) => compileRule(SigmaRule.parse(parse(r.text))));
  const index = new RuleIndex(rules);
  const events = corpusEvents(3000);
  let alerts = 0;
  const firing = new Set<string>();
  let candidates = 0;
  const differences: string[] = [];
  for (const event of events) {
    const expected = everyRule(rules, event);
    const found = index.matching(event).map((r) => r.id);
    if (found.join() !== expected.join())
      differences.push(`${JSON.stringify(event)}: index ${found.join()}, every rule ${expected.join()}`);
    alerts += expected.length;
    expected.forEach((id) => firing.add(id));
    candidates += index.candidates(event).length;
  }
  t.deepEqual(differences.slice(0, 5), []);
  t.log(
    `${String(alerts)} alerts from ${String(firing.size)} rules, ${(candidates / events.length).toFixed(1)} candidates per event`,
  );
  // The comparison means something only if many rules of many shapes did fire.
  t.true(alerts > 2500, `${String(alerts)} alerts`);
  t.true(firing.size > 500, `${String(firing.size)} rules fired`);
  // And the index does its job: an event meets a small share of the rules.
  t.true(
    candidates / events.length < rules.length / 10,
    `${String(candidates / events.length)} candidates per event`,
  );
});

test('on the OTRF recording the index fires what trying every rule fires, with our rules and the corpus', (t) => {
  if (!existsSync(recording)) {
    t.fail(`the OTRF recording is missing at ${recording}: put ../shared beside the repository`);
    return;
  }
  const rules = [
    ...loadOurDetections().loaded,
    ...sigmaCorpus(2500).map((r) => compileRule(SigmaRule.parse(parse(r.text)))),
  ];
  const index = new RuleIndex(rules);
  const { events } = readEvents([recording]);
  let alerts = 0;
  for (const { fields } of events) {
    const expected = everyRule(rules, fields);
    t.deepEqual(
      index.matching(fields).map((r) => r.id),
      expected,
    );
    alerts += expected.length;
  }
  t.true(alerts > 0);
});

test('literals are found as the matcher finds them: escapes, wildcards, case, numbers, 4688 names, transforms', (t) => {
  const proc = { product: 'windows', category: 'process_creation' };
  const rules = [
    compile({ s: { Literal: 'a\\*b' }, condition: 's' }, proc, 'escaped-star'),
    compile({ s: { Image: 'C:\\\\*\\cmstp.ex?' }, condition: 's' }, proc, 'wildcards'),
    compile({ s: { 'Image|endswith': '\\CMSTP.EXE' }, condition: 's' }, proc, 'case'),
    compile({ s: { 'image|endswith': '\\cmstp.exe' }, condition: 's' }, proc, 'field-case'),
    compile({ s: { 'CommandLine|contains|all': [' /s', ' /ns'] }, condition: 's' }, proc, 'all'),
    compile({ s: { 'CommandLine|contains|windash': ' -ni ' }, condition: 's' }, proc, 'windash'),
    compile({ s: { 'CommandLine|base64offset|contains': 'cmstp' }, condition: 's' }, proc, 'base64offset'),
    compile({ s: { 'CommandLine|cased': 'cmstp /S' }, condition: 's' }, proc, 'cased'),
    compile({ s: { Port: 4444 }, condition: 's' }, proc, 'number'),
    compile({ s: { Empty: '' }, condition: 's' }, proc, 'empty'),
    compile({ s: { Missing: null }, condition: 's' }, proc, 'null'),
    compile({ s: { 'Missing|exists': false }, condition: 's' }, proc, 'exists'),
    compile({ s: { 'Ip|cidr': '10.0.0.0/8' }, condition: 's' }, proc, 'cidr'),
    compile({ s: ['cmstp'], condition: 's' }, proc, 'keywords'),
    compile({ a: { Image: 'x' }, condition: 'not a' }, proc, 'not'),
    compile({ a: { 'Image|re': '(?:cm)stp' }, condition: 'a' }, proc, 're'),
    compile(
      {
        a: { 'Image|startswith': 'c:\\windows\\' },
        b: { 'CommandLine|endswith': '.inf' },
        condition: 'a or b',
      },
      proc,
      'or',
    ),
    compile({ a: { 'Image|contains': 'ßtp' }, condition: 'a' }, proc, 'non-ascii'),
    compile(
      { a: { EventID: 4688, 'ParentImage|endswith': '\\powershell.exe' }, condition: 'a' },
      { product: 'windows', service: 'security' },
      'security',
    ),
  ];
  const index = new RuleIndex(rules);
  const base = {
    EventID: 1,
    Channel: sysmon,
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: 'cmstp /S /NS C:\\x.INF',
    Port: 4444,
    Empty: '',
    Literal: 'A*B',
    Ip: '10.1.2.3',
  };
  const variants: Record<string, unknown>[] = [
    base,
    { ...base, Literal: 'axxb', Image: 'C:\\x\\CMSTP.EXE', CommandLine: 'cmstp –ni /s', Port: '4444' },
    { ...base, CommandLine: Buffer.from('  run cmstp now').toString('base64'), Empty: null },
    { ...base, Image: 'CMSTP.EXE', CommandLine: 'cmstp /s', Port: 4445, Ip: '11.0.0.1' },
    { ...base, CommandLine: 'cmstp /S' },
    { ...base, Image: 'C:\\x\\ßtp', image: 'other' },
    {
      EventID: 4688,
      Channel: 'Security',
      NewProcessName: 'C:\\Windows\\System32\\cmstp.exe',
      ParentProcessName: 'C:\\x\\PowerShell.exe',
      CommandLine: 'cmstp /s x.inf',
    },
    {
      EventID: 4688,
      Channel: 'Security',
      Image: 'C:\\Windows\\System32\\cmstp.exe',
      ParentImage: 'C:\\x\\powershell.exe',
    },
    { ...base, EventID: 11 },
  ];
  const fired = new Set<string>();
  for (const event of variants) {
    const expected = everyRule(rules, event);
    t.deepEqual(
      index.matching(event).map((r) => r.id),
      expected,
      JSON.stringify(event),
    );
    expected.forEach((id) => fired.add(id));
  }
  // Every rule here fired on some variant, so none of these checks passes by matching nothing.
  t.deepEqual(
    rules.map((r) => r.id).filter((id) => !fired.has(id)),
    [],
  );
});

test('rules without known literals are always tried; a rule out of scope never is', (t) => {
  const proc = { product: 'windows', category: 'process_creation' };
  const rules = [
    compile({ a: { 'Image|re': 'x' }, condition: 'a' }, proc, 'regex'),
    compile({ a: { 'Image|endswith': '\\cmstp.exe' }, condition: 'a' }, proc, 'literal'),
    compile(
      { a: { 'TargetFilename|endswith': '.inf' }, condition: 'a' },
      { product: 'windows', category: 'file_event' },
      'file',
    ),
  ];
  const index = new RuleIndex(rules);
  const ids = (event: Record<string, unknown>) => index.candidates(event).map((r) => r.id);

  t.deepEqual(ids({ EventID: 1, Channel: sysmon, Image: 'C:\\x\\notepad.exe' }), ['regex']);
  t.deepEqual(ids({ EventID: 1, Channel: sysmon, Image: 'C:\\x\\cmstp.exe' }), ['regex', 'literal']);
  t.deepEqual(ids({ EventID: 11, Channel: sysmon, TargetFilename: 'C:\\x.INF' }), ['file']);
  t.deepEqual(ids({ EventID: 1, Channel: 'Security', Image: 'C:\\x\\cmstp.exe' }), []);

  // A rule with only product: windows is reached from any channel.
  const anyChannel = new RuleIndex([
    compile({ a: { 'X|contains': 'hit' }, condition: 'a' }, { product: 'windows' }, 'any'),
  ]);
  t.deepEqual(
    anyChannel.matching({ EventID: 7045, Channel: 'System', X: 'a hit' }).map((r) => r.id),
    ['any'],
  );
  t.deepEqual(anyChannel.candidates({ EventID: 7045, Channel: 'System', X: 'a miss' }), []);
});
