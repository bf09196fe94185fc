import test from 'ava';
import {
  isHarnessError,
  type SiemAlert,
  type SiemConnector,
  type TelemetryQuery,
} from '../../src/core/index.js';
import { signalCatalog } from '../../src/signals/catalog.js';
import { siemConnectors } from '../../src/siem/registry.js';

export interface SiemFixture {
  readonly connector: SiemConnector;
  /** Puts one flat Sysmon event into the SIEM as its own ingestion path would. */
  seed(host: string, time: Date, fields: Record<string, string | number>): Promise<void>;
  /**
   * Makes every search from now on fail as the SIEM would fail it (an HTTP 500, a plug-in that exits non-zero);
   * a SIEM with no transport to fail says why instead.
   */
  readonly failSearch: (() => void) | { readonly notApplicable: string };
  close(): Promise<void>;
}

const marker = 'phcontract0001';
const contractTime = new Date('2026-11-23T12:00:00Z');
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

  // #19 build point 6: a connector that ignores an abort, or answers a failed search with nothing, fails here.
  for (const [check, problems] of Object.entries(siemChecks))
    test(`${name}: contract: ${check}`, async (t) => {
      const fixture = await setup();
      t.teardown(() => fixture.close());
      if (check === 'failedSearchIsAnError' && 'notApplicable' in fixture.failSearch)
        t.log(`not applicable: ${fixture.failSearch.notApplicable}`);
      t.deepEqual(await problems(fixture), []);
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
  fake: { close(): Promise<void>; fail(fault: { status: number }, times?: number): void },
  seed: (host: string, time: Date, fields: Record<string, string | number>) => void,
): SiemFixture {
  return {
    connector,
    // Every search from now on, so retries inside the connector meet the fault too.
    failSearch: () => {
      fake.fail({ status: 500 }, 1000);
    },
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

/** Whether a promise rejects: the error, or null when it resolved (with what). */
async function rejection(promise: Promise<unknown>): Promise<{ error: unknown } | { value: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/**
 * The SIEM contract's fault checks as functions that return what is wrong, so a meta-test can show each one
 * failing a deliberately broken connector (#19).
 */
export const siemChecks = {
  /** An interrupted run asks nothing: an already-aborted query rejects, naming the connector. */
  async abortedQueryRefused(fixture: SiemFixture): Promise<string[]> {
    await fixture.seed('WIN10-LAB-01', contractTime, cmstpEvent(marker));
    const stop = new AbortController();
    stop.abort();
    const asked = {
      telemetry: await rejection(fixture.connector.findTelemetry(query(), stop.signal)),
      alerts: await rejection(
        fixture.connector.findDetections(
          { host: 'WIN10-LAB-01', since: query().since, until: query().until, eventRefs: ['ref-1'], marker },
          stop.signal,
        ),
      ),
    };
    return Object.entries(asked).flatMap(([what, outcome]) =>
      'value' in outcome
        ? [`an aborted ${what} query was answered: ${JSON.stringify(outcome.value)}`]
        : isHarnessError(outcome.error)
          ? []
          : [
              `an aborted ${what} query rejected with ${String(outcome.error)}, not an error naming the connector`,
            ],
    );
  },
  /** A search the SIEM fails is an error naming the connector, never "nothing found". */
  async failedSearchIsAnError(fixture: SiemFixture): Promise<string[]> {
    if ('notApplicable' in fixture.failSearch)
      return fixture.failSearch.notApplicable.length > 20 ? [] : ['says it cannot fail without saying why'];
    await fixture.seed('WIN10-LAB-01', contractTime, cmstpEvent(marker));
    fixture.failSearch();
    const outcome = await rejection(fixture.connector.findTelemetry(query()));
    if ('value' in outcome)
      return [
        `a failed search was answered: ${JSON.stringify([...(outcome.value as Map<string, unknown>)])}`,
      ];
    if (!isHarnessError(outcome.error)) return [`a failed search rejected with ${String(outcome.error)}`];
    return /^\[[^\]]+\]/.test(outcome.error.message)
      ? []
      : [`the error does not name the plug-in: ${outcome.error.message}`];
  },
  /**
   * A batch (capability `batch`) answers each pair exactly as that pair's query alone: its own host, marker
   * and window, nothing from another pair in the same batch, the same pair twice the same way; and each
   * pair's alerts are those on its own events. A connector with no batch call has nothing to answer here.
   */
  async batchAnswersAsAlone(fixture: SiemFixture): Promise<string[]> {
    const { connector } = fixture;
    if (!connector.findTelemetryBatch || !connector.findDetectionsBatch) return [];
    const other = 'phcontract0002';
    await fixture.seed('WIN10-LAB-01.lab.local', contractTime, cmstpEvent(marker));
    await fixture.seed('WIN10-LAB-02.lab.local', contractTime, cmstpEvent(other));
    await fixture.seed('WIN10-LAB-02.lab.local', contractTime, cmstpEvent(marker));
    const queries = [
      query(),
      query({ host: 'WIN10-LAB-02', marker: other, bindings: { ...query().bindings, marker: other } }),
      query({ since: new Date('2026-11-23T12:05:00Z') }),
      query(),
    ];
    const refs = (found: ReadonlyMap<string, readonly { ref: string }[]>): string =>
      JSON.stringify([...found].map(([id, events]) => [id, events.map((e) => e.ref).sort()]).sort());
    const batch = await connector.findTelemetryBatch(queries);
    const alone = await Promise.all(queries.map((q) => connector.findTelemetry(q)));
    const problems = queries.flatMap((_, i) => {
      const got = batch[i];
      const want = alone[i];
      if (got === undefined || want === undefined) return [`pair ${String(i)} has no answer in the batch`];
      return refs(got) === refs(want) ? [] : [`pair ${String(i)}: batch ${refs(got)}, alone ${refs(want)}`];
    });
    if ([...(alone[0]?.values() ?? [])].flat().length === 0)
      problems.push('the seeded events were not found');
    const detections = queries.map((q, i) => ({
      host: q.host,
      since: q.since,
      until: q.until,
      eventRefs: [...(alone[i]?.values() ?? [])].flat().map((e) => e.ref),
      marker: q.marker,
    }));
    const alerts = await connector.findDetectionsBatch(detections);
    for (const [i, d] of detections.entries()) {
      const got = (alerts[i] ?? []).map((a) => a.ref).sort();
      const want = (await connector.findDetections(d)).map((a) => a.ref).sort();
      if (JSON.stringify(got) !== JSON.stringify(want))
        problems.push(`pair ${String(i)}'s alerts: batch ${got.join(',')}, alone ${want.join(',')}`);
    }
    return problems;
  },
  /**
   * The capabilities its registry entry declares are the methods it has: the connector table, the docs and
   * the run read the entry, and a capability claimed without its method (or the reverse) misleads them all.
   */
  capabilitiesMatchMethods(fixture: SiemFixture): Promise<string[]> {
    const { connector } = fixture;
    const definition = Object.values(siemConnectors).find((d) => d.id === connector.id);
    if (definition === undefined)
      return Promise.resolve([`"${connector.id}" is not the id of a registered connector`]);
    const has = {
      triggerRule: typeof connector.triggerRules === 'function',
      closeAlerts: typeof connector.closeAlerts === 'function',
      hostAlerts: typeof connector.findHostAlerts === 'function',
      push: typeof connector.onIngest === 'function',
      batch:
        typeof connector.findTelemetryBatch === 'function' &&
        typeof connector.findDetectionsBatch === 'function' &&
        connector.batchLimits !== undefined,
    };
    return Promise.resolve(
      Object.entries(has)
        .filter(
          ([capability, present]) => definition.capabilities[capability as keyof typeof has] !== present,
        )
        .map(
          ([capability, present]) =>
            `capabilities.${capability} says ${String(!present)}, but the connector ${present ? 'has' : 'lacks'} its method`,
        ),
    );
  },
} satisfies Record<string, (fixture: SiemFixture) => Promise<string[]>>;
