import test from 'ava';
import { classicFields, evaluateSpl, parseSpl, type SplEvent } from './spl-eval.js';

// The Splunk fake's evaluator is itself held to Splunk's documented semantics, rule by rule.
const event = (
  fields: SplEvent['fields'],
  raw = '',
  time = new Date('2026-12-04T10:00:00.500Z'),
): SplEvent => ({
  time,
  raw,
  fields,
});
const run = (search: string, e: SplEvent): boolean => evaluateSpl(parseSpl(search), e);

test('OR binds tighter than AND: `a OR b c` is `(a OR b) AND c`', (t) => {
  const e = event({ a: '1', b: '0', c: '0' });
  t.false(run('search a=1 OR b=1 c=1', e));
  t.true(run('search (a=1 OR b=1) c=0', e));
  t.true(run('search NOT c=1 a=1', e));
});

test('values are case-insensitive with * wildcards, also in quotes; field names are case-sensitive; a missing field never matches', (t) => {
  const e = event({ Image: 'C:\\Windows\\System32\\CMSTP.EXE' });
  t.true(run('search Image="*\\\\cmstp.exe"', e));
  t.false(run('search image="*\\\\cmstp.exe"', e));
  t.false(run('search Other="*"', e));
  t.false(run('search Image!="*"', event({})));
  t.true(run('search EventCode IN (1, 4688)', event({ EventCode: '4688' })));
});

test('earliest is inclusive, latest exclusive; _time keeps its sub-seconds', (t) => {
  const e = event({});
  const second = Date.parse('2026-12-04T10:00:00Z') / 1000;
  t.true(run(`search earliest=${second} latest=${second + 1}`, e));
  t.false(run(`search earliest=${second} latest=${second}`, e));
  t.true(run(`search _time>=${second}.500 _time<=${second}.500`, e));
  t.false(run(`search _time<=${second}.499`, e));
});

test('a term matches whole segments of the raw text, never the inside of a longer one', (t) => {
  const raw = "<Data Name='CommandLine'>cmstp.exe /s C:\\Temp\\ph0123456789ab.inf</Data>";
  t.true(run('search "ph0123456789ab"', event({}, raw)));
  t.true(run('search ph0123456789ab.inf', event({}, raw)));
  t.false(run('search "ph0123456789a"', event({}, raw)));
  t.false(run('search "0123456789ab"', event({}, raw)));
});

test('a search Splunk cannot parse is refused', (t) => {
  t.throws(() => parseSpl('search (a=1'));
  t.throws(() => parseSpl('search a="1'));
});

test('classic events: header key=value and message "Name:<tab>value" lines, spaces made underscores, repeats multivalue', (t) => {
  const fields = classicFields(
    'EventCode=4688\nComputerName=WIN10\nCreator Subject:\n\tAccount Name:\t\tu\nTarget Subject:\n\tAccount Name:\t\t-\nProcess Information:\n\tNew Process Name:\tC:\\W\\cmstp.exe',
  );
  t.is(fields.EventCode, '4688');
  t.is(fields.New_Process_Name, 'C:\\W\\cmstp.exe');
  t.deepEqual(fields.Account_Name, ['u', '-']);
});
