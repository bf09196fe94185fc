import test from 'ava';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SiemError } from '../../core/index.js';
import { alertsFor, everySignalQuery, testSiemConnector } from '../../../test/contracts/siem-connector.js';
import { repoRoot } from '../../../test/helpers/cli.js';
import { jsonlSeeder } from '../../../test/helpers/jsonl-siem.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { commandSiem } from './index.js';
import { CommandSiemOptions } from './schema.js';

// Compiled with the tests; run as the user's program would be.
const plugin = join(repoRoot, 'dist', 'test', 'fixtures', 'siem-command-plugin.js');

async function connect(env: Record<string, string>, extra: Record<string, unknown> = {}) {
  return (await commandSiem.load()).create(
    CommandSiemOptions.parse({
      command: [process.execPath, plugin],
      passEnv: ['FAKE_SIEM_FILE', 'FAKE_SIEM_MODE', 'FAKE_SIEM_PASSWORD'],
      name: 'test-bridge',
      ...extra,
    }),
    pluginContext(env),
  );
}

testSiemConnector('siem/command with a JSON-over-stdio plug-in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-command-'));
  const file = join(dir, 'events.jsonl');
  const connector = await connect({ FAKE_SIEM_FILE: file });
  return {
    connector,
    seed: jsonlSeeder(file),
    failSearch: () => {
      writeFileSync(`${file}.mode`, 'exit');
    },
    close: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
});

const query = everySignalQuery('phcommand0001', new Date('2026-11-23T12:00:00Z'));

test('a plug-in that exits non-zero, prints garbage, or reports a retryable error: errors naming the plug-in', async (t) => {
  const exit = await t.throwsAsync((await connect({ FAKE_SIEM_MODE: 'exit' })).findTelemetry(query), {
    instanceOf: SiemError,
  });
  t.regex(exit.message, /\[siem:command test-bridge\] exit 3.*connection refused by qradar\.lab/);

  const garbage = await t.throwsAsync((await connect({ FAKE_SIEM_MODE: 'garbage' })).findTelemetry(query), {
    instanceOf: SiemError,
  });
  t.regex(garbage.message, /\[siem:command test-bridge\] exit 0, and stdout is not one JSON document/);

  const busy = await t.throwsAsync((await connect({ FAKE_SIEM_MODE: 'busy' })).findTelemetry(query), {
    instanceOf: SiemError,
  });
  t.true(busy.retryable);
  t.regex(busy.message, /rate limited by the SIEM/);
});

test('a plug-in that does not answer in time is stopped: a retryable timeout', async (t) => {
  const connector = await connect({ FAKE_SIEM_MODE: 'sleep' }, { timeoutMs: 500 });
  const started = Date.now();
  const error = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
  t.true(error.retryable);
  t.regex(error.message, /did not answer within 500 ms/);
  t.true(Date.now() - started < 5000);
});

test('a secret the plug-in echoes never reaches the harness error, and no other variable is passed to it', async (t) => {
  const password = 'bridge-password-0123456789';
  process.env.PURPLE_HARNESS_UNRELATED_SECRET = 'must-not-leak';
  t.teardown(() => {
    delete process.env.PURPLE_HARNESS_UNRELATED_SECRET;
  });
  const error = await t.throwsAsync(
    (await connect({ FAKE_SIEM_MODE: 'leak', FAKE_SIEM_PASSWORD: password })).findTelemetry(query),
    { instanceOf: SiemError },
  );
  t.false(error.message.includes(password));
  t.regex(error.message, /login failed with password \[REDACTED\]/);

  const env = await t.throwsAsync((await connect({ FAKE_SIEM_MODE: 'env' })).findTelemetry(query), {
    instanceOf: SiemError,
  });
  t.regex(env.message, /env: .*FAKE_SIEM_MODE/);
  t.false(env.message.includes('PURPLE_HARNESS_UNRELATED_SECRET'));
});

test('alerts may only point at events the harness asked about', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'events.jsonl');
  const at = new Date('2026-11-23T12:00:00Z');
  appendFileSync(
    file,
    `${JSON.stringify({ ref: 'ev1', time: at.toISOString(), host: 'WIN10-LAB-01', eventId: 1, fields: { EventID: 1, Computer: 'WIN10-LAB-01', Image: 'C:\\Windows\\System32\\cmstp.exe', CommandLine: 'cmstp.exe /s C:\\x\\phcommand0001.inf' } })}\n`,
  );
  const connector = await connect({ FAKE_SIEM_FILE: file });
  const events = (await connector.findTelemetry(query)).get('cmstp-exec') ?? [];

  const alerts = await alertsFor(connector, query, events);

  t.deepEqual(
    alerts.map((a) => a.eventRefs),
    [['ev1']],
  );
});
