import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import { emptyIndex, historyRows, indexEntry, withRun } from './history.js';

test('history rows follow each scenario x host x signal across runs; the pass rate leaves out inconclusive runs', (t) => {
  const first = indexEntry(
    { ...sampleRun(), runId: 'run-1' },
    { manifestSha256: 'ab', report: 'run-1/report.html' },
  );
  const second = indexEntry({ ...sampleRun(), runId: 'run-2' }, { manifestSha256: 'cd', report: null });
  const index = withRun(withRun(emptyIndex, first), second);

  const rows = historyRows(index);

  t.deepEqual(
    rows.map((r) => [r.signal, r.runs.map((x) => x.verdict).join(','), r.passRate]),
    [
      ['cmstp-exec', 'pass,pass', 1],
      ['child-process', 'fail,fail', 0],
      ['payload-file', 'inconclusive,inconclusive', null],
    ],
  );
  // Writing the same run again replaces its entry rather than adding one.
  t.is(withRun(index, second).runs.length, 2);
});
