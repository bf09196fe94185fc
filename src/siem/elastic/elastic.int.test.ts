import test, { type ExecutionContext } from 'ava';
import { SiemError } from '../../core/index.js';
import { sysmonTime } from '../../lab/sysmon.js';
import { toEcs } from '../../signals/ecs.js';
import {
  alertsFor,
  everySignalQuery,
  fakeFixture,
  testSiemConnector,
} from '../../../test/contracts/siem-connector.js';
import { startFakeElastic, type FakeElastic } from '../../../test/helpers/fake-elastic.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { elasticSiem } from './index.js';
import { ElasticSiemOptions } from './schema.js';

const apiKey = Buffer.from('key-id:key-secret-value').toString('base64');
const sysmonIndex = 'logs-windows.sysmon_operational-default';

async function connect(fake: FakeElastic, extra: Record<string, unknown> = {}) {
  return (await elasticSiem.load()).create(
    ElasticSiemOptions.parse({ url: fake.url, apiKeyEnv: 'ES_API_KEY', ...extra }),
    pluginContext({ ES_API_KEY: apiKey }),
  );
}

/** Indexes a flat Sysmon event the way Elastic Agent would, and lets a "rule" alert on cmstp starts. */
function seedInto(
  fake: FakeElastic,
  host: string,
  time: Date,
  fields: Record<string, string | number>,
): void {
  const id = fake.index(
    sysmonIndex,
    toEcs(time.toISOString(), { ...fields, Computer: host, UtcTime: sysmonTime(time) }),
  );
  if (String(fields.Image).toLowerCase().endsWith('\\cmstp.exe'))
    fake.alert(
      { id: 'our-cmstp-rule', title: 'CMSTP from a user-writable path', tags: ['attack.t1218.003'] },
      [{ index: sysmonIndex, id }],
    );
}

testSiemConnector('siem/elastic against a loopback Elasticsearch', async () => {
  const fake = await startFakeElastic({ authorization: `ApiKey ${apiKey}` });
  return fakeFixture(await connect(fake), fake, (host, time, fields) => {
    seedInto(fake, host, time, fields);
  });
});

const marker = 'phelastic0001';
const at = new Date('2026-11-23T12:00:00Z');
const cmstp = {
  EventID: 1,
  Channel: 'Microsoft-Windows-Sysmon/Operational',
  Image: 'C:\\Windows\\System32\\cmstp.exe',
  CommandLine: `"C:\\Windows\\System32\\cmstp.exe" /s /ns C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
  ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
};
const query = everySignalQuery(marker, at);

async function setup(t: ExecutionContext, extra: Record<string, unknown> = {}) {
  const fake = await startFakeElastic({ authorization: `ApiKey ${apiKey}` });
  const connector = await connect(fake, extra);
  t.teardown(async () => {
    await connector.dispose();
    await fake.close();
  });
  return { fake, connector };
}

test('one _search per poll covers every pending signal, over the configured index patterns, with the API key', async (t) => {
  const { fake, connector } = await setup(t);
  seedInto(fake, 'win10-lab-01.lab.local', at, cmstp);

  const found = await connector.findTelemetry(query);

  t.is(found.get('cmstp-exec')?.length, 1);
  const searches = fake.requests.filter((r) => r.path.endsWith('/_search'));
  t.is(searches.length, 1);
  t.is(
    searches[0]?.path,
    `/${['logs-windows.sysmon_operational-*', 'logs-system.security-*', 'winlogbeat-*'].map(encodeURIComponent).join(',')}/_search`,
  );
  t.is(searches[0]?.authorization, `ApiKey ${apiKey}`);
});

test('failed shards are partial results: a retryable error, never an empty answer', async (t) => {
  const { fake, connector } = await setup(t);
  seedInto(fake, 'WIN10-LAB-01', at, cmstp);
  fake.fail({ shardsFailed: 1 });

  const error = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });

  t.true(error.retryable);
  t.regex(error.message, /\[siem:elastic\] partial results: 1 shard\(s\) failed/);
});

test('429 with Retry-After is retried later, honouring the wait; 401 and 403 are auth errors; bad JSON is an error', async (t) => {
  const { fake, connector } = await setup(t);
  fake.fail({ status: 429, retryAfter: '7' });
  const busy = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.true(busy.retryable);
  t.is(busy.retryAfterMs, 7000);

  fake.fail({ status: 401 });
  const denied = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.is(denied.code, 'E_SIEM_AUTH');
  t.false(denied.retryable);
  t.false(denied.message.includes(apiKey));

  // 403: authenticated, but without read on the index (security_exception).
  fake.fail({
    status: 403,
    body: '{"error":{"type":"security_exception","reason":"action [indices:data/read/search] is unauthorized"}}',
  });
  const forbidden = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.is(forbidden.code, 'E_SIEM_AUTH');
  t.regex(forbidden.message, /HTTP 403.*unauthorized/);

  fake.fail({ malformed: true });
  const garbled = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.regex(garbled.message, /\[siem:elastic\] the answer is not JSON/);
});

test('a search that never answers times out as a retryable error naming the plug-in', async (t) => {
  const { fake, connector } = await setup(t, { timeoutMs: 300 });
  fake.fail({ hang: true });

  const error = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });

  t.true(error.retryable);
  t.regex(error.message, /\[siem:elastic\] POST .*_search failed/);
});

test('a missing API key variable is refused before any request, naming the variable', async (t) => {
  const error = await t.throwsAsync(
    (await elasticSiem.load()).create(
      ElasticSiemOptions.parse({ url: 'http://127.0.0.1:9', apiKeyEnv: 'ES_API_KEY' }),
      pluginContext({}),
    ),
  );
  t.regex(error.message, /\[siem:elastic\] the variable ES_API_KEY is not set/);
});

test('OpenSearch: Security Analytics findings name the documents they matched', async (t) => {
  const { fake, connector } = await setup(t, { flavor: 'opensearch', indices: ['logs-*'] });
  const id = fake.index(
    sysmonIndex,
    toEcs(at.toISOString(), { ...cmstp, Computer: 'WIN10-LAB-01', UtcTime: sysmonTime(at) }),
  );
  fake.finding('sigma-rule-1', 'CMSTP with an INF', [id]);
  fake.finding('sigma-rule-2', 'Unrelated', ['some-other-doc']);
  const events = (await connector.findTelemetry(query)).get('cmstp-exec') ?? [];

  const alerts = await alertsFor(connector, query, events);

  t.deepEqual(
    alerts.map((a) => [a.ruleId, a.eventRefs]),
    [['sigma-rule-1', [`${sysmonIndex}/${id}`]]],
  );
});

test('#14 Elastic: more matches than one page returns are read page by page (hits.total), never cut at `size`', async (t) => {
  const { fake, connector } = await setup(t, { size: 2 });
  for (let i = 0; i < 5; i += 1)
    seedInto(fake, 'win10-lab-01.lab.local', new Date(at.getTime() + i * 10), {
      ...cmstp,
      ProcessId: 4000 + i,
    });

  const found = await connector.findTelemetry(query);

  t.is(found.get('cmstp-exec')?.length, 5);
  const alerts = await alertsFor(connector, query, found.get('cmstp-exec') ?? []);
  t.is(alerts.length, 5);
});
