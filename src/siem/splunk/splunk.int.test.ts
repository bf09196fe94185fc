import test, { type ExecutionContext } from 'ava';
import { SiemError } from '../../core/index.js';
import { alertsFor, everySignalQuery, testSiemConnector } from '../../../test/contracts/siem-connector.js';
import { startFakeSplunk } from '../../../test/helpers/fake-splunk.js';
import {
  connect,
  hecToken,
  rules,
  seedInto,
  splunkFixture,
  token,
} from '../../../test/helpers/splunk-fixture.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { evaluateSpl, parseSpl } from '../../../test/helpers/spl-eval.js';
import { splunkSiem } from './index.js';
import { SplunkSiemOptions } from './schema.js';

testSiemConnector('siem/splunk against a loopback Splunk', splunkFixture);

const marker = 'phsplunk00001';
const at = new Date('2026-11-23T12:00:00Z');
const query = everySignalQuery(marker, at);

async function setup(t: ExecutionContext, extra: Record<string, unknown> = {}) {
  const fake = await startFakeSplunk({ token, hecToken, rules });
  const connector = await connect(fake, extra);
  t.teardown(async () => {
    await connector.dispose();
    await fake.close();
  });
  return { fake, connector };
}

test('one export search per poll, POSTed to the v2 endpoint in the app context, bearer token, every pending signal in it', async (t) => {
  const { fake, connector } = await setup(t, { app: 'SplunkEnterpriseSecuritySuite', index: 'wineventlog' });

  await connector.findTelemetry(query);

  t.is(fake.searches.length, 1);
  const [search] = fake.searches;
  t.regex(search?.search ?? '', /^search index=wineventlog earliest=\d+ latest=\d+ /);
  // Every event type of every signal is in the one search.
  for (const id of [1, 3, 7, 10, 11, 22, 4688])
    t.true(search?.search.includes(`EventCode IN (${String(id)})`), String(id));
  t.true(search?.search.includes('EventCode IN (12, 13)'));
  t.is(search?.earliest, String(Math.floor(query.since.getTime() / 1000)));
  t.is(search?.authorization, `Bearer ${token}`);
});

test('the quota answer (503) is retried later; 401 is an auth error; a FATAL message fails the query; a broken stream is retried', async (t) => {
  const { fake, connector } = await setup(t);
  fake.fail({ status: 503, retryAfter: '3' });
  const busy = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.true(busy.retryable);
  t.is(busy.retryAfterMs, 3000);
  t.regex(busy.message, /\[siem:splunk\].*maximum number of concurrent historical searches/);

  fake.fail({ status: 401 });
  const denied = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.is(denied.code, 'E_SIEM_AUTH');
  t.false(denied.message.includes(token));

  fake.fail({ fatal: "Error in 'search' command: Unable to parse the search" });
  const fatal = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.false(fatal.retryable);
  t.regex(fatal.message, /search failed: Error in 'search' command/);

  fake.fail({ malformed: true });
  const broken = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.true(broken.retryable);
});

test('#14 Splunk partial results: a stream cut before its last row, or a WARN that results may be incomplete, is retried, never read as complete', async (t) => {
  const { fake, connector } = await setup(t);
  const at = new Date('2026-11-23T12:00:00Z');
  seedInto(fake, 'WIN10-LAB-01', at, {
    EventID: 1,
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: 'cmstp.exe /s /ns C:\\ProgramData\\purple-harness\\runs\\phsplunkpart01\\phsplunkpart01.inf',
  });
  const partialQuery = everySignalQuery('phsplunkpart01', at);

  fake.fail({ truncated: true });
  const cut = await t.throwsAsync(connector.findTelemetry(partialQuery), { instanceOf: SiemError });
  t.true(cut.retryable);
  t.regex(cut.message, /ended before its last row/);

  fake.fail({
    warn: 'Search results might be incomplete: the search process on the peer:idx2 ended prematurely.',
  });
  const warned = await t.throwsAsync(connector.findTelemetry(partialQuery), { instanceOf: SiemError });
  t.true(warned.retryable);
  t.regex(warned.message, /may be incomplete: Search results might be incomplete/);

  // The same search, complete, is read.
  const found = await connector.findTelemetry(partialQuery);
  t.is(found.get('cmstp-exec')?.length, 1);
});

test('basic auth from two variables; a missing variable is refused naming it', async (t) => {
  const error = await t.throwsAsync(
    (await splunkSiem.load()).create(
      SplunkSiemOptions.parse({
        url: 'http://127.0.0.1:9',
        usernameEnv: 'SPLUNK_USER',
        passwordEnv: 'SPLUNK_PASSWORD',
      }),
      pluginContext({ SPLUNK_USER: 'admin' }),
    ),
  );
  t.regex(error.message, /\[siem:splunk\] the variable SPLUNK_PASSWORD is not set/);
});

test('a notable counts for an event only when it repeats a value that singles that event out', async (t) => {
  const { fake, connector } = await setup(t);
  const cmd = (m: string) =>
    `"C:\\Windows\\System32\\cmstp.exe" /s /ns C:\\Users\\lab\\AppData\\Local\\Temp\\${m}.inf`;
  seedInto(fake, 'WIN10-LAB-01', at, {
    EventID: 1,
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: cmd(marker),
    ProcessGuid: '{AAAA-1111}',
  });
  seedInto(fake, 'WIN10-LAB-01', at, {
    EventID: 1,
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: cmd('phsomeoneelse1'),
    ProcessGuid: '{BBBB-2222}',
  });
  const events = (await connector.findTelemetry(query)).get('cmstp-exec') ?? [];
  t.is(events.length, 1);

  const alerts = await alertsFor(connector, query, events);

  t.true(alerts.length >= 1);
  for (const alert of alerts) {
    t.deepEqual(alert.eventRefs, [events[0]?.ref]);
    t.regex(alert.ruleId, /^Endpoint - .* - Rule$/);
  }
});

test('#16 evidence in the last partial second of the search is found: latest is exclusive, _time keeps milliseconds', async (t) => {
  const { fake, connector } = await setup(t);
  // The search ends 0.7 s into a second, and the event is 0.3 s before that: in the second a floored,
  // exclusive `latest` leaves out (15 of 16 scenario runs had all their evidence there).
  const until = new Date(at.getTime() + 600_700);
  seedInto(fake, 'WIN10-LAB-01', new Date(until.getTime() - 300), {
    EventID: 1,
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: `"C:\\Windows\\System32\\cmstp.exe" /s /ns C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
    ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  });
  const window = { since: new Date(until.getTime() - 2000), until };

  const found = await connector.findTelemetry({ ...query, until, processWindow: window });

  t.is(found.get('cmstp-exec')?.length, 1);
  const [search] = fake.searches;
  t.is(search?.latest, String(Math.floor(until.getTime() / 1000) + 1));
  t.regex(search?.search ?? '', new RegExp(` latest=${String(Math.floor(until.getTime() / 1000) + 1)} `));
  // Window-correlated branches compare _time to the millisecond, never a floored second.
  t.true(search?.search.includes(`_time<=${(until.getTime() / 1000).toFixed(3)}`));
  t.true(search?.search.includes(`_time>=${(window.since.getTime() / 1000).toFixed(3)}`));
});

test('#16 the notable search names the host or its FQDN: a notable for a host whose name merely starts the same is not in it', async (t) => {
  const fake = await startFakeSplunk({ token, hecToken });
  t.teardown(() => fake.close());
  const connector = await connect(fake);
  t.teardown(() => connector.dispose());
  const search = parseSpl(
    connector.detectionText?.({
      host: 'WIN10-LAB-01',
      since: new Date(0),
      until: new Date(),
      eventRefs: [],
      marker: 'ph0123456789ab',
    }) ?? '',
  );
  const notable = (dest: string) =>
    evaluateSpl(search, { time: new Date(), raw: '', fields: { index: 'notable', dest } });

  t.true(notable('WIN10-LAB-01'));
  t.true(notable('win10-lab-01.lab.local'));
  t.false(notable('WIN10-LAB-010'));
  t.false(notable('WIN10-LAB-01X.lab.local'));
});
