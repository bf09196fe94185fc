import test from 'ava';
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseResults } from 'test-results-parser';
import { tempDir } from '../../../test/helpers/tmp.js';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { create as createReporter } from './reporter.js';
import { junitReporter } from './index.js';

testReporter('reporters/junit', junitReporter);

const parse = (xml: string) =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  }).parse(xml) as {
    testsuites: {
      name: string;
      tests: string;
      failures: string;
      errors: string;
      testsuite: {
        name: string;
        tests: string;
        testcase: {
          classname: string;
          name: string;
          failure?: { type: string };
          error?: { type: string };
          skipped?: unknown;
        }[];
      }[];
    };
  };

test('well-formed JUnit: one testcase per signal; fail is a failure, inconclusive an error (never skipped)', (t) => {
  const [artifact] = createReporter().render(sampleRun());
  const xml = artifact?.content ?? '';

  t.is(artifact?.path, 'junit.xml');
  t.notThrows(() => SyntaxValidator.validate(xml));
  const { testsuites } = parse(xml);
  t.regex(testsuites.name, /SIMULATED LAB/);
  t.is(testsuites.tests, '3');
  t.is(testsuites.failures, '1');
  t.is(testsuites.errors, '1');
  const cases = testsuites.testsuite.flatMap((s) => s.testcase);
  t.deepEqual(
    cases.map((c) => [c.name, c.failure?.type ?? null, c.error?.type ?? null]),
    [
      ['cmstp-exec', null, null],
      ['child-process', 'fail', null],
      ['payload-file', null, 'inconclusive'],
    ],
  );
  t.true(
    cases.every(
      (c) =>
        c.skipped === undefined && c.classname === 'purple-harness.cmstp-local-inf-presetup.WIN10-LAB-01',
    ),
  );
});

test('markup in reasons and command lines is escaped', (t) => {
  const run = sampleRun();
  const [result] = run.results;
  if (!result) throw new Error('sample run has no result');
  const tricky = {
    ...run,
    results: [{ ...result, signals: result.signals.map((s) => ({ ...s, reason: `<b>"x" & 'y'</b> ]]>` })) }],
  };

  const xml = createReporter().render(tricky)[0]?.content ?? '';

  t.notThrows(() => SyntaxValidator.validate(xml));
  t.false(xml.includes('<b>'));
});

test('a standard JUnit consumer (test-results-parser, as used by TestBeats) reads it: totals and per-case status', (t) => {
  const file = join(tempDir(t), 'junit.xml');
  writeFileSync(file, createReporter().render(sampleRun())[0]?.content ?? '');

  const result = parseResults({ type: 'junit', files: [file] });

  // sampleRun: one pass, one fail, one inconclusive (an <error>, never a skip).
  t.is(result.total, 3);
  t.is(result.passed, 1);
  t.is(result.skipped, 0);
  t.is(result.status, 'FAIL');
  const cases = result.suites.flatMap((s) => s.cases.map((c) => [c.name, c.status]));
  t.deepEqual(cases, [
    ['cmstp-exec', 'PASS'],
    ['child-process', 'FAIL'],
    ['payload-file', 'FAIL'],
  ]);
});

test('#14.3 pairs that never ran are errors in junit.xml, and so is a run with nothing planned: a partial run never reads as green', (t) => {
  const run = sampleRun();
  const partial = {
    ...run,
    notRun: [{ scenario: 'cmstp-all-users-au', host: 'WIN10-LAB-01', reason: 'the stop file was present' }],
  };
  const empty = { ...run, results: [], notRun: [] };

  const withPairs = parse(createReporter().render(partial)[0]?.content ?? '').testsuites;
  const nothing = parse(createReporter().render(empty)[0]?.content ?? '').testsuites;

  t.is(withPairs.tests, '4');
  t.is(withPairs.errors, '2');
  const notRun = withPairs.testsuite.find((s) => s.name === 'not run')?.testcase ?? [];
  t.deepEqual(
    notRun.map((c) => [c.name, c.error?.type]),
    [['cmstp-all-users-au on WIN10-LAB-01', 'not-run']],
  );
  t.is(nothing.tests, '1');
  t.is(nothing.errors, '1');
});
