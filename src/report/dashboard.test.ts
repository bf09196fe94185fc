import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import type { RunIndexEntry } from '../core/index.js';
import { renderDashboard, runSets } from './dashboard.js';
import { indexEntry } from './history.js';

// sampleRun: one scenario on one host; cmstp-exec pass, child-process fail, payload-file inconclusive.
function run(runId: string, startedAt: string, change: Partial<RunIndexEntry> = {}): RunIndexEntry {
  const entry = indexEntry({ ...sampleRun(), runId }, { manifestSha256: null, report: null });
  return { ...entry, startedAt, ...change };
}

const other = (entry: RunIndexEntry): RunIndexEntry['signals'] =>
  entry.signals.map((s) => ({ ...s, scenario: 'cmstp-all-users-au' }));

// #18 build point 7: the dashboard compares like with like.
test('#18 runs are grouped by their scenario x host pairs, lab and SIEM; the newest set comes first', (t) => {
  const a1 = run('a1', '2026-12-01T00:00:00Z');
  const b1 = run('b1', '2026-12-02T00:00:00Z');
  const b = { ...b1, signals: other(b1) };
  const a2 = run('a2', '2026-12-03T00:00:00Z');
  const real = run('r1', '2026-12-04T00:00:00Z', { lab: 'real' });
  const splunk = run('s1', '2026-12-05T00:00:00Z', { siem: 'splunk' });

  const sets = runSets([a1, b, a2, real, splunk]);

  t.deepEqual(
    sets.map((s) => [s.name, s.runs.map((r) => r.runId)]),
    [
      ['D', ['s1']],
      ['C', ['r1']],
      ['A', ['a1', 'a2']],
      ['B', ['b1']],
    ],
  );
  t.deepEqual(sets.find((s) => s.name === 'A')?.scenarios, ['cmstp-local-inf-presetup']);
  t.deepEqual(sets.find((s) => s.name === 'A')?.hosts, ['WIN10-LAB-01']);
});

test('#18 the dashboard draws each set apart, one small pass-rate chart per signal, and names each run its set', (t) => {
  const a1 = run('a1', '2026-12-01T00:00:00Z');
  const b1 = run('b1', '2026-12-02T00:00:00Z');
  const html = renderDashboard({
    indexVersion: 1,
    runs: [a1, { ...b1, signals: other(b1) }, run('a2', '2026-12-03T00:00:00Z')],
  });

  t.is(html.match(/<div class="run-set" id="set-[AB]">/g)?.length, 2);
  t.regex(html, /Set A: 1 scenario\(s\) × 1 host\(s\), simulated lab, local SIEM · 2 run\(s\)/);
  // Three signals in the sample, so three small charts per set, each titled by its signal.
  const setA = html.slice(html.indexOf('id="set-A"'), html.indexOf('id="set-B"'));
  t.is(setA.match(/<svg class="chart"/g)?.length, 3 + 1);
  t.regex(setA, /<title>cmstp-exec<\/title>/);
  // The runs table links each run to its set.
  t.regex(html, /<code>a2<\/code><\/a><\/td><td><a href="#set-A">A<\/a><\/td>/);
  t.regex(html, /<code>b1<\/code><\/a><\/td><td><a href="#set-B">B<\/a><\/td>/);
});
