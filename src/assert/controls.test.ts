import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import type { ControlDefinition } from '../core/index.js';
import { assessControls } from './controls.js';
import { controlRow } from '../core/index.js';

const control = (partial: Partial<ControlDefinition>): ControlDefinition => ({
  framework: 'NIST SP 800-53 Rev. 5',
  id: 'SI-4',
  title: 'System Monitoring',
  basis: 'detection',
  statement: 'Alerts fired.',
  signals: null,
  scenarios: null,
  coverage: 'any',
  ...partial,
});

// sampleRun: cmstp-exec passed (captured, alerted), child-process failed (nothing captured), payload-file
// inconclusive (not polled).
const results = sampleRun('real').results;

test('a control covering a failed signal is not met, whatever else passed', (t) => {
  const [result] = assessControls([control({})], results);

  t.is(result?.status, 'not-met');
  t.deepEqual(
    result?.evidence.map((e) => `${e.signal}:${e.status}`),
    // payload-file expects no alert either way, so it says nothing about monitoring.
    ['cmstp-exec:met', 'child-process:not-met'],
  );
});

test('narrowed to a passed signal it is met; to an unjudged one, not evaluated; to nothing, never met', (t) => {
  const [met, unjudged, nothing] = assessControls(
    [
      control({ signals: ['cmstp-exec'] }),
      control({ signals: ['payload-file'] }),
      control({ scenarios: ['no-such-scenario'] }),
    ],
    results,
  );

  t.is(met?.status, 'met');
  t.is(unjudged?.status, 'not-evaluated');
  t.is(nothing?.status, 'not-evaluated');
  t.deepEqual(nothing?.evidence, []);
});

test('a logging control asks only whether the records exist; a monitoring control asks for the alert too', (t) => {
  const run = sampleRun('real');
  const [first] = run.results;
  if (!first) throw new Error('sample has a result');
  // Captured, but the expected alert never fired: logging met, monitoring not.
  const capturedOnly = {
    ...first,
    signals: first.signals
      .filter((s) => s.id === 'cmstp-exec')
      .map((s) => ({
        ...s,
        verdict: 'fail' as const,
        observed: { ...s.observed, detected: false, alerts: [] },
      })),
  };
  const [logging, monitoring] = assessControls(
    [control({ id: 'AU-12', basis: 'telemetry' }), control({ basis: 'detection' })],
    [capturedOnly],
  );

  t.is(logging?.status, 'met');
  t.is(monitoring?.status, 'not-met');
});

test('#14.7 a run of only the negative control meets no detection control: its silence shows no monitoring', (t) => {
  const run = sampleRun('real');
  const [first] = run.results;
  if (!first) throw new Error('sample has a result');
  // Captured as expected, no alert, as expected: a passing negative control.
  const negative = {
    ...first,
    signals: first.signals
      .filter((s) => s.id === 'cmstp-exec')
      .map((s) => ({
        ...s,
        verdict: 'pass' as const,
        expected: { ...s.expected, detected: false },
        observed: { ...s.observed, detected: false, alerts: [] },
      })),
  };
  const [si4, logging] = assessControls(
    [control({}), control({ id: 'A.8.15', basis: 'telemetry' })],
    [negative],
  );
  t.is(si4?.status, 'not-evaluated');
  t.deepEqual(si4?.evidence, []);
  // Its records were expected and arrived: that is logging evidence.
  t.is(logging?.status, 'met');
});

test('#14.7 a control stated for each AN0932 signal is not met with 3 of 7 signals', (t) => {
  const run = sampleRun('real');
  const [first] = run.results;
  if (!first) throw new Error('sample has a result');
  const passed = first.signals.find((s) => s.id === 'cmstp-exec');
  if (!passed) throw new Error('sample has cmstp-exec');
  const three = {
    ...first,
    signals: (['cmstp-exec', 'payload-file', 'child-process'] as const).map((id) => ({ ...passed, id })),
  };
  const [each, any] = assessControls(
    [
      control({ id: 'AU-12', basis: 'telemetry', coverage: 'each-signal' }),
      control({ id: 'AU-12', basis: 'telemetry' }),
    ],
    [three],
  );
  t.is(each?.status, 'not-evaluated');
  t.deepEqual(each?.missing, ['remote-fetch', 'scriptlet-load', 'com-elevation', 'profile-registry']);
  t.is(any?.status, 'met');
});

test('#18 the simulated lab meets no control: every row it bears on is demonstration only, whatever its verdicts', (t) => {
  const simulated = sampleRun('simulated').results;

  const [failing, passing, nothing] = assessControls(
    [control({}), control({ signals: ['cmstp-exec'] }), control({ scenarios: ['no-such-scenario'] })],
    simulated,
  );

  t.is(failing?.status, 'demonstration');
  t.is(passing?.status, 'demonstration');
  t.deepEqual(
    passing?.evidence.map((e) => `${e.signal}:${e.status}`),
    ['cmstp-exec:demonstration'],
  );
  t.is(nothing?.status, 'not-evaluated');
});

test('#18 in a mixed lab only the real hosts decide; decidedBy names what set the status', (t) => {
  const [real] = sampleRun('real').results;
  const [simulated] = sampleRun('simulated').results;
  if (!real || !simulated) throw new Error('sample has a result');
  const simHost = { ...simulated, host: { ...simulated.host, name: 'SIM-01' } };

  const [any, cmstpOnly] = assessControls(
    [control({}), control({ signals: ['cmstp-exec'] })],
    [simHost, real],
  );

  // The real host's child-process failed: not met, decided by that signal on that host alone.
  t.is(any?.status, 'not-met');
  t.deepEqual(any?.decidedBy, [
    { scenario: real.scenario.id, host: 'WIN10-LAB-01', signal: 'child-process', status: 'not-met' },
  ]);
  t.is(cmstpOnly?.status, 'met');
  t.deepEqual(
    cmstpOnly?.decidedBy.map((e) => `${e.host}:${e.signal}:${e.status}`),
    ['WIN10-LAB-01:cmstp-exec:met'],
  );
  t.deepEqual(
    cmstpOnly?.evidence.map((e) => `${e.host}:${e.status}`),
    ['SIM-01:demonstration', 'WIN10-LAB-01:met'],
  );
});

test('#18 a control row reads as what the run observed, and names what decided it', (t) => {
  const [notMet, met, unjudged] = assessControls(
    [
      control({}),
      control({ signals: ['cmstp-exec'] }),
      control({ basis: 'telemetry', signals: ['payload-file'] }),
    ],
    results,
  ).map(controlRow);
  const [nothing] = assessControls([control({ scenarios: ['none'] })], results).map(controlRow);
  const [demo] = assessControls([control({})], sampleRun('simulated').results).map(controlRow);

  t.is(notMet?.label, 'NOT MET');
  t.is(notMet?.finding, 'Not observed in this run, so not shown: Alerts fired.');
  t.is(notMet?.decidedBy, `child-process on WIN10-LAB-01 (${results[0]?.scenario.id ?? ''})`);
  t.is(met?.label, 'MET');
  t.is(met?.finding, 'Observed in this run: Alerts fired.');
  t.is(met?.decidedBy, 'cmstp-exec on WIN10-LAB-01');
  t.is(unjudged?.label, 'NOT EVALUATED');
  t.regex(unjudged?.decidedBy ?? '', /^payload-file on WIN10-LAB-01 \(/);
  t.is(nothing?.decidedBy, 'nothing in this run covers it');
  t.is(demo?.label, 'DEMONSTRATION ONLY');
  t.regex(
    demo?.finding ?? '',
    /^Demonstration only: simulated-lab results show the harness at work, not this control\./,
  );
});
