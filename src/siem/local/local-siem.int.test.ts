import test from 'ava';
import { testSiemConnector } from '../../../test/contracts/siem-connector.js';
import { localSiemFixture } from '../../../test/helpers/local-siem-fixture.js';
import { signalCatalog } from '../../signals/catalog.js';

// The local SIEM passes the shared connector contract through its real ingestion path (HEC over loopback).
testSiemConnector('siem/local', localSiemFixture);

// #20 push: the local SIEM tells a listener when its host's events are stored, and they are searchable then.
test('onIngest: told once per stored batch of its own host, after the events are searchable, with when they were stamped; not for another host, not after unsubscribing', async (t) => {
  const fixture = await localSiemFixture();
  const siem = fixture.connector;
  t.teardown(() => siem.dispose());
  if (siem.onIngest === undefined) throw new Error('no push');
  const marker = 'phpush0000001';
  // Through HEC over loopback, as a forwarder posts (the fixture's seed refuses an answer that is not ok).
  const send = (host: string) =>
    fixture.seed(host, new Date('2026-11-23T12:00:00Z'), {
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: host,
      UtcTime: '2026-11-23 12:00:00.000',
      Image: 'C:\\Windows\\System32\\cmstp.exe',
      CommandLine: `cmstp.exe /s C:\\ProgramData\\purple-harness\\${marker}\\${marker}.inf`,
    });
  const query = {
    host: 'WIN10-LAB-01',
    marker,
    bindings: { marker, payloadFile: `${marker}.inf` },
    processWindow: { since: new Date('2026-11-23T11:59:59Z'), until: new Date('2026-11-23T12:00:05Z') },
    since: new Date('2026-11-23T11:55:00Z'),
    until: new Date('2026-11-23T12:10:00Z'),
    signals: [signalCatalog['cmstp-exec']],
  };
  const found: number[] = [];
  let told = 0;
  const spans: string[] = [];
  const stop = siem.onIngest('WIN10-LAB-01', (arrived) => {
    told += 1;
    spans.push(`${arrived.earliest.toISOString()} ${arrived.latest.toISOString()}`);
    // Searchable by the time the listener is told: the poll it wakes finds the event.
    void siem.findTelemetry(query).then((events) => found.push(events.get('cmstp-exec')?.length ?? 0));
  });

  await send('WIN10-LAB-010.lab.local');
  t.is(told, 0, 'a host whose name only starts the same is not this host');
  await send('WIN10-LAB-01.lab.local');
  await new Promise((resolve) => setImmediate(resolve));
  t.is(told, 1);
  t.deepEqual(found, [1]);
  t.deepEqual(
    spans,
    ['2026-11-23T12:00:00.000Z 2026-11-23T12:00:00.000Z'],
    'told when the events were stamped',
  );
  stop();
  await send('WIN10-LAB-01.lab.local');
  await new Promise((resolve) => setImmediate(resolve));
  t.is(told, 1, 'not told after unsubscribing');
});
