import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import type { RunIndexEntry } from '../core/index.js';
import { indexEntry } from '../report/history.js';
import { findRegressions } from './regressions.js';

// sampleRun: cmstp-exec pass, child-process fail, payload-file inconclusive.
const now = sampleRun();
const comparable = { lab: 'simulated', siem: 'local', tuning: 'default' } as const;

function earlier(
  runId: string,
  verdicts: Record<string, 'pass' | 'fail' | 'inconclusive'>,
  lab = 'simulated' as const,
): RunIndexEntry {
  const entry = indexEntry({ ...now, runId }, { manifestSha256: null, report: null });
  return {
    ...entry,
    lab,
    signals: entry.signals.map((s) => ({ ...s, verdict: verdicts[s.signal] ?? s.verdict })),
  };
}

test('passed before and fails now is a regression, naming the run it last passed in', (t) => {
  const regressions = findRegressions(
    [earlier('run-1', { 'child-process': 'pass' })],
    now.results,
    comparable,
  );

  t.deepEqual(regressions, [
    {
      scenario: 'cmstp-local-inf-presetup',
      host: 'WIN10-LAB-01',
      signal: 'child-process',
      previousRunId: 'run-1',
      previousVerdict: 'pass',
      verdict: 'fail',
      tuningChanged: null,
    },
  ]);
});

// #21: a detection that died with nothing else touched most likely died of the tuning; the regression says so.
test('a regression says when the tuning the rules read changed since the run it passed in, and from what to what', (t) => {
  const history = [earlier('run-1', { 'child-process': 'pass' })];
  const custom = 'custom, sha256 0123456789ab';

  const [changed] = findRegressions(history, now.results, { ...comparable, tuning: custom });
  t.deepEqual(changed?.tuningChanged, { before: 'default', now: custom });
  // An index written before runs recorded their tuning: not known then, so said as changed from unknown.
  const unknown = [{ ...earlier('run-1', { 'child-process': 'pass' }), tuning: null }];
  t.deepEqual(findRegressions(unknown, now.results, comparable)[0]?.tuningChanged, {
    before: null,
    now: 'default',
  });
  t.is(findRegressions(history, now.results, comparable)[0]?.tuningChanged, null);
});

test('an inconclusive run in between is skipped: the last judged verdict counts', (t) => {
  const history = [
    earlier('run-1', { 'child-process': 'pass' }),
    earlier('run-2', { 'child-process': 'inconclusive' }),
  ];

  t.is(findRegressions(history, now.results, comparable)[0]?.previousRunId, 'run-1');
});

test('failing before and now, first runs, and runs against another kind of lab are not regressions', (t) => {
  t.deepEqual(findRegressions([earlier('run-1', { 'child-process': 'fail' })], now.results, comparable), []);
  t.deepEqual(findRegressions([], now.results, comparable), []);
  const real = { ...earlier('run-1', { 'child-process': 'pass' }), lab: 'real' as const };
  t.deepEqual(findRegressions([real], now.results, comparable), []);
  const otherSiem = { ...earlier('run-1', { 'child-process': 'pass' }), siem: 'splunk' };
  t.deepEqual(findRegressions([otherSiem], now.results, comparable), []);
});
