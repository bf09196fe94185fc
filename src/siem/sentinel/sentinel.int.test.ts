import test, { type ExecutionContext } from 'ava';
import { SiemError } from '../../core/index.js';
import { sysmonTime } from '../../lab/sysmon.js';
import { loadOurDetections } from '../../sigma/load.js';
import {
  alertsFor,
  everySignalQuery,
  fakeFixture,
  testSiemConnector,
} from '../../../test/contracts/siem-connector.js';
import { startFakeSentinel, type FakeSentinel } from '../../../test/helpers/fake-sentinel.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { sentinelSiem } from './index.js';
import { SentinelSiemOptions } from './schema.js';

const workspaceId = '6f0c8a1e-3b2d-4c5e-9f70-1a2b3c4d5e6f';
const token = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sentinel-test';
const rules = loadOurDetections().loaded;

async function connect(fake: FakeSentinel) {
  return (await sentinelSiem.load()).create(
    SentinelSiemOptions.parse({ workspaceId, endpoint: fake.url, credential: 'token' }),
    pluginContext({ SENTINEL_TOKEN: token }),
  );
}

/** Sends one flat event through the fake workspace's ingestion (standing in for the Azure Monitor Agent). */
async function seedInto(
  fake: FakeSentinel,
  host: string,
  time: Date,
  fields: Record<string, string | number>,
) {
  const response = await fetch(`${fake.hec.url}/services/collector/event`, {
    method: 'POST',
    headers: { Authorization: `Splunk ${fake.hec.token}` },
    body: JSON.stringify({
      time: time.getTime() / 1000,
      event: { ...fields, Computer: host, UtcTime: sysmonTime(time) },
    }),
  });
  if (!response.ok) throw new Error(`seed failed: ${String(response.status)}`);
}

testSiemConnector('siem/sentinel against a loopback Log Analytics API', async () => {
  const fake = await startFakeSentinel({ workspaceId, token, rules });
  const fixture = fakeFixture(await connect(fake), fake, () => undefined);
  return { ...fixture, seed: (host, time, fields) => seedInto(fake, host, time, fields) };
});

const marker = 'phsentinel001';
const at = new Date('2026-11-23T12:00:00Z');
const query = everySignalQuery(marker, at);

async function setup(t: ExecutionContext) {
  const fake = await startFakeSentinel({ workspaceId, token, rules });
  const connector = await connect(fake);
  t.teardown(async () => {
    await connector.dispose();
    await fake.close();
  });
  return { fake, connector };
}

test('one KQL union per poll for every pending signal, with the timespan and the bearer token', async (t) => {
  const { fake, connector } = await setup(t);

  await connector.findTelemetry(query);

  t.is(fake.queries.length, 1);
  const [sent] = fake.queries;
  t.regex(sent?.query ?? '', /^union isfuzzy=true\n/);
  for (const table of [
    'Sysmon | where EventID in (1)',
    'SecurityEvent | where EventID in (4688)',
    'DeviceProcessEvents',
  ])
    t.true(sent?.query.includes(table), table);
  t.is(sent?.timespan, `${query.since.toISOString()}/${query.until.toISOString()}`);
  t.is(sent?.authorization, `Bearer ${token}`);
});

test('PartialError is retried, 204 is an empty workspace, 429 honours Retry-After, 401 is an auth error', async (t) => {
  const { fake, connector } = await setup(t);
  await seedInto(fake, 'WIN10-LAB-01', at, {
    EventID: 1,
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: `cmstp.exe /s C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
  });

  fake.fail({ partial: true });
  const partial = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.true(partial.retryable);
  t.regex(partial.message, /\[siem:sentinel\] partial results/);

  fake.fail({ noContent: true });
  t.is([...(await connector.findTelemetry(query)).values()].flat().length, 0);

  fake.fail({ status: 429, retryAfter: '11' });
  const throttled = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.is(throttled.retryAfterMs, 11_000);

  const found = await connector.findTelemetry(query);
  t.is(found.get('cmstp-exec')?.length, 1);
  const alerts = await alertsFor(connector, query, found.get('cmstp-exec') ?? []);
  t.true(alerts.length >= 1);
  t.regex(alerts[0]?.ruleId ?? '', /^[0-9a-f-]{36}$/);
  // The incident the alert was grouped into is evidence as well, tied to the same event.
  t.true(alerts.some((a) => /^SecurityIncident:[0-9a-f-]{36}$/.test(a.ref) && a.eventRefs.length === 1));
});

test('a missing token variable is refused naming it; a wrong token is an auth error that does not echo it', async (t) => {
  const missing = await t.throwsAsync(
    (await sentinelSiem.load()).create(
      SentinelSiemOptions.parse({ workspaceId, credential: 'token' }),
      pluginContext({}),
    ),
  );
  t.regex(missing.message, /\[siem:sentinel\] the variable SENTINEL_TOKEN is not set/);

  const fake = await startFakeSentinel({ workspaceId, token, rules });
  t.teardown(() => fake.close());
  const wrongToken = 'eyJ-wrong-token-0123456789';
  const connector = await (
    await sentinelSiem.load()
  ).create(
    SentinelSiemOptions.parse({ workspaceId, endpoint: fake.url, credential: 'token' }),
    pluginContext({ SENTINEL_TOKEN: wrongToken }),
  );
  t.teardown(() => connector.dispose());
  const denied = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.is(denied.code, 'E_SIEM_AUTH');
  t.false(denied.message.includes(wrongToken));
});

/** The event ids a signal was found by, in order. */
const eventIdsOf = (found: ReadonlyMap<string, readonly { readonly eventId: number }[]>, signal: string) =>
  found
    .get(signal)
    ?.map((e) => e.eventId)
    .sort((a, b) => a - b);

for (const parser of ['v11.0', 'all-versions'] as const) {
  test(`#16 a union whose legs type a column differently (Sysmon parser ${parser} beside SecurityEvent) still gives every event its own field names`, async (t) => {
    // Kusto's union returns one column per type when legs disagree (ProcessId long in the v11.0 parser,
    // string in SecurityEvent; every field dynamic in the all-versions parser): read naively, a Sysmon 7
    // row would come back with ProcessId_long and never match its signal.
    const fake = await startFakeSentinel({ workspaceId, token, rules, sysmonFunction: parser });
    const connector = await connect(fake);
    t.teardown(async () => {
      await connector.dispose();
      await fake.close();
    });
    await seedInto(fake, 'WIN10-LAB-01', at, {
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Image: 'C:\\Windows\\System32\\cmstp.exe',
      CommandLine: `cmstp.exe /s C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
      ProcessId: 1,
    });
    await seedInto(fake, 'WIN10-LAB-01', new Date(at.getTime() + 200), {
      EventID: 7,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Image: 'C:\\Windows\\System32\\cmstp.exe',
      ImageLoaded: 'C:\\Windows\\System32\\scrobj.dll',
      ProcessId: 1,
    });
    await seedInto(fake, 'WIN10-LAB-01', new Date(at.getTime() + 300), {
      EventID: 4688,
      Channel: 'Security',
      NewProcessName: 'C:\\Windows\\System32\\cmstp.exe',
      CommandLine: `cmstp.exe /s ${marker}.inf`,
      ProcessId: '0x1c8',
      NewProcessId: '0x1',
    });

    const found = await connector.findTelemetry(query);

    t.is(found.get('scriptlet-load')?.length, 1);
    t.deepEqual(eventIdsOf(found, 'cmstp-exec'), [1, 4688]);
    t.is(found.get('scriptlet-load')?.[0]?.fields.ProcessId, 1);
    // When the row became searchable (ingestion_time()), kept as the event's evidence.
    t.regex(found.get('scriptlet-load')?.[0]?.indexedAt ?? '', /^\d{4}-\d\d-\d\dT/);
  });
}

test("#16 with sysmon: asim, the Sysmon events come through the ASIM parsers with their Sysmon names, and imProcessCreate's copy of a Security 4688 is not counted twice", async (t) => {
  const fake = await startFakeSentinel({ workspaceId, token, rules, sysmonFunction: 'v11.0' });
  const connector = await (
    await sentinelSiem.load()
  ).create(
    SentinelSiemOptions.parse({ workspaceId, endpoint: fake.url, credential: 'token', sysmon: 'asim' }),
    pluginContext({ SENTINEL_TOKEN: token }),
  );
  t.teardown(async () => {
    await connector.dispose();
    await fake.close();
  });
  const sysmon = (offset: number, fields: Record<string, string | number>) =>
    seedInto(fake, 'WIN10-LAB-01.lab.local', new Date(at.getTime() + offset), {
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      ...fields,
    });
  const cmstp = 'C:\\Windows\\System32\\cmstp.exe';
  await sysmon(0, {
    EventID: 1,
    Image: cmstp,
    CommandLine: `cmstp.exe /s C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
    ProcessId: 1,
  });
  await sysmon(-100, {
    EventID: 11,
    Image: 'C:\\Windows\\System32\\OpenSSH\\sshd.exe',
    TargetFilename: `C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
  });
  await sysmon(300, {
    EventID: 13,
    EventType: 'SetValue',
    Image: cmstp,
    TargetObject:
      'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe\\ProfileInstallPath',
    Details: 'C:\\ProgramData\\Microsoft\\Network\\Connections\\Cm',
  });
  await sysmon(400, {
    EventID: 3,
    Image: cmstp,
    Initiated: 'true',
    DestinationIp: '10.20.0.5',
    DestinationPort: '8080',
    DestinationHostname: 'payload.lab.test',
    ProcessId: 1,
  });
  await seedInto(fake, 'WIN10-LAB-01.lab.local', new Date(at.getTime() + 50), {
    EventID: 4688,
    Channel: 'Security',
    NewProcessName: cmstp,
    CommandLine: `cmstp.exe /s ${marker}.inf`,
    NewProcessId: '0x1',
    ProcessId: '0x1c8',
  });

  const found = await connector.findTelemetry({
    ...query,
    bindings: { ...query.bindings, payloadIp: '10.20.0.5', payloadPort: '8080' },
  });

  t.deepEqual(eventIdsOf(found, 'cmstp-exec'), [1, 4688]);
  t.is(found.get('payload-file')?.length, 1);
  t.regex(found.get('payload-file')?.[0]?.indexedAt ?? '', /^\d{4}-\d\d-\d\dT/);
  t.is(found.get('remote-fetch')?.[0]?.fields.Image, cmstp);
  // The registry parser spells the hive out and splits the value from the key: read back as one path.
  t.is(
    found.get('profile-registry')?.[0]?.fields.TargetObject,
    'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe\\ProfileInstallPath',
  );
  const sent = fake.queries.at(-1)?.query ?? '';
  t.true(sent.includes('_Im_ProcessCreate | where EventProduct == "Sysmon"'));
  t.false(/\(Sysmon \| where EventID in \(1\)/.test(sent));
});
