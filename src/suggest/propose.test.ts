import test from 'ava';
import type { SiemEvent } from '../core/index.js';
import { toEcs } from '../signals/ecs.js';
import { compileRule } from '../sigma/engine.js';
import { SigmaRule } from '../sigma/rule.js';
import { evaluateKql } from '../../test/helpers/kql-eval.js';
import { sentinelWorkspace } from '../../test/helpers/sentinel-workspace.js';
import { evaluateSpl, parseSpl } from '../../test/helpers/spl-eval.js';
import { matches as esMatches } from '../../test/helpers/fake-elastic.js';
import { atomsOf } from './atoms.js';
import { propose, provenText, type ProofSet } from './propose.js';
import { sigmaLiteral } from './rule.js';
import { standingQueries } from './queries.js';
import { stringify } from 'yaml';

const sysmon = 'Microsoft-Windows-Sysmon/Operational';
let next = 0;
function event(eventId: number, fields: Record<string, unknown>): SiemEvent {
  next += 1;
  return {
    ref: `test:${String(next)}`,
    time: `2026-12-05T10:00:0${String(next % 10)}.000Z`,
    indexedAt: null,
    host: 'WIN10-LAB-01',
    eventId,
    fields: { EventID: eventId, Channel: sysmon, ...fields },
  };
}

const cmstp = (flags: string, marker: string) =>
  event(1, {
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    OriginalFileName: 'CMSTP.EXE',
    CommandLine: `"C:\\Windows\\System32\\cmstp.exe" ${flags} C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
    IntegrityLevel: 'High',
    ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    ParentCommandLine: 'powershell.exe -NoProfile -EncodedCommand SQBFAFgA',
    ProcessGuid: '{6D626B22-3234-416B-B7DA-11F66E7B794F}',
    ProcessId: 5492,
    User: 'WIN10-LAB-01\\labadmin',
  });

const about = () => ({ title: 'test suggestion', description: 'test', date: '2026-12-05' });
const set = (over: Partial<ProofSet>): ProofSet => ({
  positives: [],
  negativeControl: [],
  collateral: [],
  inAttack: (image) => /\\cmstp\.exe$/i.test(image),
  ...over,
});

test('a value written with sigmaLiteral means exactly that value to the Sigma engine: wildcards, escapes and lone backslashes', (t) => {
  const values = [
    'C:\\Windows\\System32\\cmstp.exe',
    '\\\\fileserver\\share\\profile.inf',
    'HKU\\*\\Software',
    'what?',
    'ends with a backslash\\',
    'a\\*b\\?c\\\\d',
  ];
  for (const value of values) {
    const rule = compileRule(
      SigmaRule.parse({
        title: 't',
        id: 't',
        level: 'low',
        logsource: { product: 'windows', category: 'process_creation' },
        detection: { selection: { CommandLine: sigmaLiteral(value) }, condition: 'selection' },
      }),
    );
    const on = (text: string) => rule.matches({ EventID: 1, Channel: sysmon, CommandLine: text });
    t.true(on(value), value);
    t.false(on(`${value}x`), `${value}x`);
    t.false(on(value.replace(/[*?\\]/, 'Z')), `${value} with a special character replaced`);
  }
});

const none = (): boolean => false;
const any = (): boolean => true;

test("an event's tests leave out what names the run, the user and the process instance; the parent only when it is the attack's", (t) => {
  const fields = cmstp('/s /au', 'ph05fwtlnhcgk0').fields;
  const atoms = atomsOf(fields, 1, none);
  const text = JSON.stringify(atoms);
  t.notRegex(text, /ph05fwtlnhcgk0|purple-harness|labadmin|6D626B22|5492|powershell/i);
  t.true(atoms.some((a) => a.field === 'Image' && a.op === 'endswith' && a.value === '\\cmstp.exe'));
  t.true(atoms.some((a) => a.field === 'CommandLine' && a.value === ' /au'));
  t.true(atomsOf(fields, 1, any).some((a) => a.field === 'ParentImage'));
  const key = atomsOf(
    {
      EventType: 'CreateKey',
      TargetObject:
        'HKU\\S-1-5-21-3470123407-2231371018-3463402313-1001\\Software\\Microsoft\\Connection Manager\\Mappings\\ph05fwtlnhcgk0',
    },
    12,
    none,
  );
  t.deepEqual(
    key.map((a) => [a.field, a.op, a.value]),
    [
      ['EventType', 'equals', 'CreateKey'],
      ['TargetObject', 'contains', '\\Software\\Microsoft\\Connection Manager\\Mappings\\'],
    ],
  );
  // A key with nothing of the run or the user in it is tested whole (less its hive, written more than one way).
  const machine = atomsOf(
    { TargetObject: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe' },
    12,
    none,
  );
  t.true(
    machine.some(
      (a) =>
        a.op === 'contains' &&
        a.value === '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe',
    ),
    JSON.stringify(machine),
  );
});

test('the process that staged the INF is the harness, not the attack: a file event names its writer only when the attack started it', (t) => {
  const staged = {
    Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
    TargetFilename: 'C:\\ProgramData\\purple-harness\\runs\\ph05fwtlnhcgk0\\ph05fwtlnhcgk0.inf',
  };
  const tests = (inAttack: (image: string) => boolean) =>
    atomsOf(staged, 11, inAttack).map((a) => `${a.field}|${a.op}|${a.value}`);
  t.deepEqual(tests(none), ['TargetFilename|startswith|C:\\ProgramData\\', 'TargetFilename|endswith|.inf']);
  t.true(tests(any).some((a) => a.startsWith('Image|endswith|\\sftp-server.exe')));
  // On a process start, Image is the process started: always tested.
  t.true(atomsOf({ Image: staged.Image }, 1, none).some((a) => a.field === 'Image'));
});

test('the rule keeps what sets the attack apart from the negative control: /au, which the admin install lacks', (t) => {
  const attack = cmstp('/s /au', 'ph05fwtlnhcgk0');
  const admin = cmstp('/s /ns', 'ph4gfxsi9zxg2w');
  const proposed = propose(set({ positives: [attack], negativeControl: [admin] }), about);
  if (!proposed.ok) return t.fail(proposed.reason);
  const { atoms, fires } = proposed.proposal;
  t.deepEqual(fires, [attack.ref]);
  t.true(
    atoms.some((a) => a.value === ' /au'),
    JSON.stringify(atoms),
  );
  t.false(
    atoms.some((a) => a.value === ' /s'),
    'what both share is dropped',
  );
  // What ran stays, though /au alone separates these events: alone it would fire on any program's /au.
  t.true(
    atoms.some((a) => a.field === 'Image' && a.value === '\\cmstp.exe'),
    JSON.stringify(atoms),
  );
  // Without a negative control, nothing would have kept /au: the negatives shape the rule.
  const unchecked = propose(set({ positives: [attack] }), about);
  t.true(unchecked.ok && !unchecked.proposal.atoms.some((a) => a.value === ' /au'));
});

test('a captured event the negative control matches in every stable field gets no rule, and the reason', (t) => {
  const proposed = propose(
    set({ positives: [cmstp('/s /ns', 'ph05fwtlnhcgk0')], collateral: [cmstp('/s /ns', 'ph4gfxsi9zxg2w')] }),
    about,
  );
  t.false(proposed.ok);
  if (!proposed.ok)
    t.regex(proposed.reason, /every stable field of a captured Sysmon 1 event is also in an event/);
});

test('the text offered is the text proven: a rule edited after the proof to fire on a negative is caught', (t) => {
  const attack = cmstp('/s /au', 'ph05fwtlnhcgk0');
  const admin = cmstp('/s /ns', 'ph4gfxsi9zxg2w');
  const proofSet = set({ positives: [attack], negativeControl: [admin] });
  const proposed = propose(proofSet, about);
  if (!proposed.ok) return t.fail(proposed.reason);
  const text = stringify(proposed.proposal.document);
  t.is(provenText(text, proofSet, proposed.proposal.fires), null);
  t.regex(provenText(text.replace(' /au', ' /s'), proofSet, proposed.proposal.fires) ?? '', /negative/);
});

// The standing queries are run, not just read: Splunk's search by the evaluator written from Splunk's
// documentation, KQL bound by Microsoft's Kusto language service and evaluated, the DSL by the Elasticsearch
// fake's matcher over the ECS document Winlogbeat would index. Each fires on the attack and not on the control.
test('the SPL, KQL and Elasticsearch forms of a suggestion fire on the captured event and not on the negative control', (t) => {
  const attack = cmstp('/s /au', 'ph05fwtlnhcgk0');
  const admin = cmstp('/s /ns', 'ph4gfxsi9zxg2w');
  const proposed = propose(set({ positives: [attack], negativeControl: [admin] }), about);
  if (!proposed.ok) return t.fail(proposed.reason);
  const queries = standingQueries(proposed.proposal.source, proposed.proposal.atoms);

  const spl = parseSpl(queries.spl.replace(/^search /, ''));
  const splEvent = (e: SiemEvent) => ({
    time: new Date(e.time),
    raw: JSON.stringify(e.fields),
    fields: {
      ...Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, String(v)])),
      EventCode: String(e.eventId),
      source: `XmlWinEventLog:${sysmon}`,
      index: 'main',
    },
  });
  t.true(evaluateSpl(spl, splEvent(attack)), queries.spl);
  t.false(evaluateSpl(spl, splEvent(admin)));

  const row = (e: SiemEvent) => ({
    ...e.fields,
    TimeGenerated: new Date(e.time),
    Computer: e.host,
    Type: 'Event',
  });
  const kql = (e: SiemEvent) => evaluateKql(queries.kql, sentinelWorkspace('v11.0'), { Sysmon: [row(e)] });
  t.deepEqual(Object.keys(kql(attack)), ['rows'], queries.kql);
  t.is((kql(attack) as { rows: unknown[] }).rows.length, 1);
  t.is((kql(admin) as { rows: unknown[] }).rows.length, 0);

  t.not(queries.es, null);
  t.true(esMatches(queries.es, toEcs(attack.time, attack.fields)), JSON.stringify(queries.es));
  t.false(esMatches(queries.es, toEcs(admin.time, admin.fields)));
});
