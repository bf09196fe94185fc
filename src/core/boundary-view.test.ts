import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import { create as createHtml } from '../reporters/html/reporter.js';
import { create as createMarkdown } from '../reporters/markdown/reporter.js';
import { tuningBoundaries } from './boundary-view.js';
import type { RunResult, ScenarioResult } from './run-record.js';

/** A run holding two registry boundary cases: the let-through one passed, the flagged one failed. */
function boundaryRun(
  plannedUnder = 'default',
  label = "a per-user install's App Paths key (HKU)",
): RunResult {
  const run = sampleRun();
  const base = run.results[0] as ScenarioResult;
  const passing = base.signals.filter((s) => s.verdict === 'pass');
  const failing = base.signals.filter((s) => s.verdict === 'fail');
  const boundary = (
    id: string,
    side: 'flagged' | 'let-through',
    caseLabel: string,
    signals: typeof passing,
  ) => ({
    ...base,
    scenario: {
      ...base.scenario,
      id,
      boundary: {
        element: 'RegistryKeyAllowlist' as const,
        side,
        label: caseLabel,
        judged: ['HKU\\x'],
        plannedUnder,
      },
    },
    status: signals === passing ? ('passed' as const) : ('failed' as const),
    signals,
  });
  return {
    ...run,
    results: [
      boundary('boundary-registry-per-user', 'let-through', label, passing),
      boundary(
        'boundary-registry-all-users',
        'flagged',
        "an all-users install's App Paths key (HKLM)",
        failing,
      ),
      base,
    ],
  };
}

test('#21 the tuning boundaries of a run, by element: what the passing cases prove, what a failing one did not, and the elements with no case', (t) => {
  const view = tuningBoundaries(boundaryRun());
  t.truthy(view);
  t.is(view?.tuningSentence, 'Planned under, and run with, tuning default.');
  t.deepEqual(
    view?.elements.map((e) => [e.element, e.sentence]),
    [
      [
        'RegistryKeyAllowlist',
        "lets through a per-user install's App Paths key (HKU); NOT PROVEN: an all-users install's App Paths key (HKLM) on WIN10-LAB-01 (failed)",
      ],
    ],
  );
  t.deepEqual(
    view?.elements[0]?.cases.map((c) => [c.scenario, c.side, c.proven, c.why === '' ? '' : 'why']),
    [
      ['boundary-registry-per-user', 'let through', true, ''],
      ['boundary-registry-all-users', 'flagged', false, 'why'],
    ],
  );
  t.deepEqual(view?.missing, ['INFPathRegex', 'ExternalIPAllowlist', 'COMInterfaceGUIDs', 'TimeWindow']);
  // A run with no boundary case has no section at all.
  t.is(tuningBoundaries(sampleRun()), null);
});

test('#21 a plan made under another tuning than the run read is said, with what a failing case then means', (t) => {
  const view = tuningBoundaries(boundaryRun('custom, sha256 0374f9d7503e'));
  t.regex(
    view?.tuningSentence ?? '',
    /^Planned under tuning custom, sha256 0374f9d7503e; this run's rules read tuning default: a case that fails is one the change moved/,
  );
});

test('#21 both reports show the boundaries, and a case label is text, never markup', (t) => {
  const run = boundaryRun('default', '<img src=x onerror=alert(1)> per-user');
  const html = createHtml().render(run)[0]?.content ?? '';
  const markdown = createMarkdown().render(run)[0]?.content ?? '';
  t.regex(html, /<section id="tuning-boundaries">/);
  t.regex(html, /NOT PROVEN: failed;/);
  t.false(html.includes('<img src=x'));
  t.regex(markdown, /## TUNING BOUNDARIES/);
  t.regex(markdown, /- \*\*RegistryKeyAllowlist\*\*: lets through /);
  t.false(markdown.includes('<img src=x'));
});
