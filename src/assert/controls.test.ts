import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import type { ControlDefinition } from '../core/index.js';
import { assessControls } from './controls.js';

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
const results = sampleRun().results;

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
  const run = sampleRun();
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
  const run = sampleRun();
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
  const run = sampleRun();
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
