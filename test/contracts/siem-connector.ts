import test from 'ava';
import type { SiemAlert, SiemConnector, TelemetryQuery } from '../../src/core/index.js';
import { signalCatalog } from '../../src/signals/catalog.js';

export interface SiemFixture {
  readonly connector: SiemConnector;
  /** Puts one flat Sysmon event into the SIEM as its own ingestion path would. */
  seed(host: string, time: Date, fields: Record<string, string | number>): Promise<void>;
  /** Puts an alert on the event(s) that carry this command line, as the SIEM's rule engine would. */
  close(): Promise<void>;
}

const marker = 'phcontract0001';
const channel = 'Microsoft-Windows-Sysmon/Operational';
const cmstpEvent = (m: string): Record<string, string | number> => ({
  EventID: 1,
  Channel: channel,
  Computer: 'WIN10-LAB-01.lab.local',
  UtcTime: '2026-11-23 12:00:00.000',
  Image: 'C:\\Windows\\System32\\cmstp.exe',
  CommandLine: `"C:\\Windows\\System32\\cmstp.exe" /s /ns C:\\ProgramData\\purple-harness\\runs\\${m}\\${m}.inf`,
  ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
});

function query(overrides: Partial<TelemetryQuery> = {}): TelemetryQuery {
  return {
    host: 'WIN10-LAB-01',
    marker,
    bindings: {
      marker,
      payloadFile: `${marker}.inf`,
      cmstpPid: '1234',
      payloadHost: 'payload.lab.test',
      payloadIp: '127.0.0.1',
      payloadPort: '80',
    },
    processWindow: { since: new Date('2026-11-23T11:59:59Z'), until: new Date('2026-11-23T12:00:05Z') },
    since: new Date('2026-11-23T11:55:00Z'),
    until: new Date('2026-11-23T12:10:00Z'),
    signals: [signalCatalog['cmstp-exec'], signalCatalog['child-process']],
    ...overrides,
  };
}

/**
 * The shared contract every SIEM connector passes (unstorage's testDriver pattern): empty result, match by
 * marker and host, time window, classification per signal, and alerts linked to the matched events.
 */
export function testSiemConnector(name: string, setup: () => Promise<SiemFixture>): void {
  const at = new Date('2026-11-23T12:00:00Z');

  test(`${name}: an empty SIEM returns no events`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());

    const found = await fixture.connector.findTelemetry(query());

    t.is([...found.values()].flat().length, 0);
  });

  test(`${name}: events are matched by marker, host and signal`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());
    await fixture.seed('WIN10-LAB-01.lab.local', at, cmstpEvent(marker));
    await fixture.seed('WIN10-LAB-01.lab.local', at, cmstpEvent('phothermarker1'));
    await fixture.seed('OTHER-HOST', at, cmstpEvent(marker));

    const found = await fixture.connector.findTelemetry(query());

    t.is(found.get('cmstp-exec')?.length, 1);
    t.is(found.get('child-process')?.length ?? 0, 0);
    t.regex(String(found.get('cmstp-exec')?.[0]?.fields.CommandLine), new RegExp(marker));
    t.truthy(found.get('cmstp-exec')?.[0]?.ref);
  });

  test(`${name}: the time window is respected`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());
    await fixture.seed('WIN10-LAB-01', new Date('2026-11-23T10:00:00Z'), cmstpEvent(marker));

    const found = await fixture.connector.findTelemetry(query());

    t.is(found.get('cmstp-exec')?.length ?? 0, 0);
  });

  test(`${name}: alerts are returned only for the events asked about`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());
    await fixture.seed('WIN10-LAB-01', at, cmstpEvent(marker));
    await fixture.seed('WIN10-LAB-01', at, cmstpEvent('phothermarker1'));
    const found = await fixture.connector.findTelemetry(query());
    const refs = (found.get('cmstp-exec') ?? []).map((e) => e.ref);

    const alerts = await fixture.connector.findDetections({
      host: 'WIN10-LAB-01',
      since: query().since,
      until: query().until,
      eventRefs: refs,
      marker,
    });

    t.true(alerts.length >= 1);
    for (const alert of alerts) {
      t.true(alert.eventRefs.every((ref) => refs.includes(ref)));
      // ATT&CK IDs, when the SIEM gives them, come normalised: T1218, T1218.003, TA0005.
      for (const id of alert.attack ?? []) t.regex(id, /^(T\d{4}(\.\d{3})?|TA\d{4})$/);
    }
    t.deepEqual(
      await fixture.connector.findDetections({
        host: 'WIN10-LAB-01',
        since: query().since,
        until: query().until,
        eventRefs: [],
      }),
      [],
    );
  });

  test(`${name}: describe() names the SIEM`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());

    t.true(fixture.connector.describe().length > 0);
  });
}

/** A fixture for a connector in front of a loopback vendor fake: seeding is synchronous, closing closes both. */
export function fakeFixture(
  connector: SiemConnector,
  fake: { close(): Promise<void> },
  seed: (host: string, time: Date, fields: Record<string, string | number>) => void,
): SiemFixture {
  return {
    connector,
    seed: (host, time, fields) => {
      seed(host, time, fields);
      return Promise.resolve();
    },
    close: async () => {
      await connector.dispose();
      await fake.close();
    },
  };
}

/** A query for every signal of one run, around `at`, as a poll would send it. */
export function everySignalQuery(marker: string, at: Date): TelemetryQuery {
  return {
    host: 'WIN10-LAB-01',
    marker,
    bindings: {
      marker,
      payloadFile: `${marker}.inf`,
      cmstpPid: '1',
      payloadHost: 'none',
      payloadIp: 'none',
      payloadPort: 'none',
    },
    processWindow: { since: new Date(at.getTime() - 500), until: new Date(at.getTime() + 1500) },
    since: new Date(at.getTime() - 300_000),
    until: new Date(at.getTime() + 600_000),
    signals: Object.values(signalCatalog),
  };
}

/** The alerts a connector ties to these events, in the query's window. */
export function alertsFor(
  connector: SiemConnector,
  query: TelemetryQuery,
  events: readonly { readonly ref: string }[],
): Promise<readonly SiemAlert[]> {
  return connector.findDetections({
    host: query.host,
    since: query.since,
    until: query.until,
    eventRefs: events.map((e) => e.ref),
    marker: query.marker,
  });
}
