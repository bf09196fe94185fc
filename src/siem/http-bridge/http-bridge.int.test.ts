import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SiemError } from '../../core/index.js';
import { everySignalQuery, testSiemConnector } from '../../../test/contracts/siem-connector.js';
import { repoRoot } from '../../../test/helpers/cli.js';
import { jsonlSeeder } from '../../../test/helpers/jsonl-siem.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { httpBridgeSiem } from './index.js';
import { HttpBridgeSiemOptions } from './schema.js';

const token = 'bridge-token-5f1c0a9e7d3b';
// The user's side: a loopback service that hands each request to the command-plug-in test bridge (the same
// fake SIEM as siem/command) and answers with what it printed: 502 when it failed, 401 without the token.
const plugin = join(repoRoot, 'dist', 'test', 'fixtures', 'siem-command-plugin.js');

async function bridgeService(
  file: string,
  mode = 'ok',
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.headers.authorization !== `Bearer ${token}`) {
        response.writeHead(401).end(`bad token ${request.headers.authorization ?? ''}`);
        return;
      }
      void execa(process.execPath, [plugin], {
        input: Buffer.concat(chunks).toString('utf8'),
        env: { FAKE_SIEM_FILE: file, FAKE_SIEM_MODE: mode, FAKE_SIEM_PASSWORD: `echo ${token}` },
        extendEnv: false,
        reject: false,
      }).then((result) => {
        response
          .writeHead(result.exitCode === 0 ? 200 : 502)
          .end(result.exitCode === 0 ? result.stdout : result.stderr);
      });
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/siem`,
    close: () =>
      new Promise((closed) =>
        server.close(() => {
          closed();
        }),
      ),
  };
}

async function connect(url: string, env: Record<string, string> = { BRIDGE_TOKEN: token }) {
  return (await httpBridgeSiem.load()).create(
    HttpBridgeSiemOptions.parse({ url, tokenEnv: 'BRIDGE_TOKEN', name: 'test-service' }),
    pluginContext(env),
  );
}

testSiemConnector('siem/http-bridge with a loopback bridge service', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-http-bridge-'));
  const file = join(dir, 'events.jsonl');
  const service = await bridgeService(file);
  const connector = await connect(service.url);
  return {
    connector,
    seed: jsonlSeeder(file),
    failSearch: () => {
      writeFileSync(`${file}.mode`, 'exit');
    },
    close: async () => {
      await connector.dispose();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const query = everySignalQuery('phbridge00001', new Date('2026-11-23T12:00:00Z'));

test('a failing service, a refused token, an answer that is no JSON and a busy SIEM: errors naming the bridge, never the token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-http-bridge-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'events.jsonl');
  const cases = [
    {
      mode: 'exit',
      code: 'E_SIEM_UNAVAILABLE',
      retryable: true,
      says: /HTTP 502.*connection refused by qradar\.lab/,
    },
    {
      mode: 'garbage',
      code: 'E_SIEM_QUERY',
      retryable: false,
      says: /answered HTTP 200 with no JSON document/,
    },
    { mode: 'busy', code: 'E_SIEM_QUERY', retryable: true, says: /rate limited by the SIEM/ },
    // The service echoes a password that holds the token: the message keeps the rest, never the token.
    {
      mode: 'leak',
      code: 'E_SIEM_QUERY',
      retryable: false,
      says: /login failed with password echo \[REDACTED\]/,
    },
  ] as const;
  for (const c of cases) {
    const service = await bridgeService(file, c.mode);
    const connector = await connect(service.url);
    const error = await t.throwsAsync(connector.findTelemetry(query), { instanceOf: SiemError });
    await connector.dispose();
    await service.close();
    t.is(error.code, c.code, c.mode);
    t.is(error.retryable, c.retryable, c.mode);
    t.regex(error.message, /\[siem:http-bridge test-service\]/, c.mode);
    t.regex(error.message, c.says, c.mode);
    t.false(error.message.includes(token), c.mode);
  }
  const service = await bridgeService(file);
  t.teardown(() => service.close());
  const refused = await connect(service.url, { BRIDGE_TOKEN: 'not-the-token-0000' });
  t.teardown(() => refused.dispose());
  const auth = await t.throwsAsync(refused.findTelemetry(query), { instanceOf: SiemError });
  t.is(auth.code, 'E_SIEM_AUTH');
  t.false(auth.message.includes('not-the-token-0000'));
});
