import test from 'ava';
import type { SensorFacts } from '../core/index.js';
import { sensorProfiles } from '../lab/sensor-profiles.js';
import { signalCatalog } from './catalog.js';
import { signalReadiness } from './readiness.js';

function sensors(partial: Partial<SensorFacts> = {}): SensorFacts {
  return {
    sysmonRunning: true,
    sysmonEventTypes: sensorProfiles.full.sysmonEventTypes,
    security4688: true,
    security4688CommandLine: true,
    forwarders: ['SplunkForwarder'],
    freeDiskBytes: 1e10,
    clockSkewMs: 0,
    ...partial,
  };
}

const readiness = (facts: SensorFacts | null) =>
  Object.fromEntries(Object.values(signalCatalog).map((d) => [d.id, signalReadiness(d, facts)]));

test('a full Sysmon configuration makes every signal ready', (t) => {
  t.deepEqual(new Set(Object.values(readiness(sensors()))), new Set(['ready']));
});

test('without ImageLoad and ProcessAccess, scriptlet-load and com-elevation are blind; the rest stay ready', (t) => {
  const result = readiness(
    sensors({ sysmonEventTypes: sensorProfiles['no-access-imageload'].sysmonEventTypes }),
  );

  t.is(result['scriptlet-load'], 'blind');
  t.is(result['com-elevation'], 'blind');
  t.is(result['cmstp-exec'], 'ready');
  t.is(result['remote-fetch'], 'ready');
});

test('with Sysmon stopped, only what Security 4688 records is ready', (t) => {
  const result = readiness(sensors({ sysmonRunning: false }));

  t.is(result['cmstp-exec'], 'ready');
  t.is(result['child-process'], 'ready');
  t.is(result['payload-file'], 'blind');
  t.is(readiness(sensors({ sysmonRunning: false, security4688CommandLine: false }))['cmstp-exec'], 'blind');
});

test('an unreadable configuration or no preflight facts is unknown, never ready', (t) => {
  t.is(readiness(sensors({ sysmonEventTypes: null, security4688: null }))['scriptlet-load'], 'unknown');
  t.deepEqual(new Set(Object.values(readiness(null))), new Set(['unknown']));
});
