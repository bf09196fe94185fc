import test from 'ava';
import { request } from 'node:http';
import { startPayloadServer } from './server.js';

function get(
  port: number,
  path: string,
  host: string,
  address = '127.0.0.1',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address, port, path, setHost: false, headers: { Host: host, 'User-Agent': 'test-agent' } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('serves what is published, records every request, and forgets withdrawn payloads', async (t) => {
  const server = await startPayloadServer({ bind: '127.0.0.1', port: 0, advertisedHost: 'payload.lab.test' });
  t.teardown(() => server.close());
  const port = Number(new URL(server.baseUrl).port);
  server.publish('/ph1/ph1.sct', '<scriptlet/>', 'text/scriptlet');

  const first = await get(port, '/ph1/ph1.sct', `payload.lab.test:${port}`);
  const missing = await get(port, '/ph1/other.sct', `payload.lab.test:${port}`);
  server.withdraw('/ph1/ph1.sct');
  const after = await get(port, '/ph1/ph1.sct', `payload.lab.test:${port}`);
  await get(port, '/ph2/x.sct', 'elsewhere');

  t.is(server.baseUrl, `http://payload.lab.test:${port}`);
  t.deepEqual([first.status, first.body, missing.status, after.status], [200, '<scriptlet/>', 404, 404]);
  const fetches = server.fetches('/ph1/');
  t.deepEqual(
    fetches.map((f) => [f.path, f.status, f.source, f.userAgent, f.host]),
    [
      ['/ph1/ph1.sct', 200, '127.0.0.1', 'test-agent', `payload.lab.test:${port}`],
      ['/ph1/other.sct', 404, '127.0.0.1', 'test-agent', `payload.lab.test:${port}`],
      ['/ph1/ph1.sct', 404, '127.0.0.1', 'test-agent', `payload.lab.test:${port}`],
    ],
  );
});

test('#21 with a second bind it serves the same files at the same port on that address too, and records those fetches alike', async (t) => {
  const server = await startPayloadServer({
    bind: '127.0.0.1',
    port: 0,
    advertisedHost: 'payload.lab.test',
    secondBind: '127.0.0.2',
  });
  t.teardown(() => server.close());
  const port = Number(new URL(server.baseUrl).port);
  server.publish('/ph1/ph1.sct', '<scriptlet/>', 'text/scriptlet');

  const second = await get(port, '/ph1/ph1.sct', `127.0.0.2:${port}`, '127.0.0.2');
  t.deepEqual([second.status, second.body], [200, '<scriptlet/>']);
  t.deepEqual([server.address, server.secondAddress], ['127.0.0.1', '127.0.0.2']);
  t.deepEqual(
    server.fetches('/ph1/').map((f) => [f.source, f.host]),
    // Linux answers loopback from 127.0.0.1 whichever loopback address was asked; the Host header says which.
    [['127.0.0.1', `127.0.0.2:${port}`]],
  );
});

test("#21 a second bind this machine does not have is the config's fault (exit 2), and the first listener is closed again", async (t) => {
  const error = await t.throwsAsync(
    startPayloadServer({ bind: '127.0.0.1', port: 0, advertisedHost: 'x', secondBind: '192.0.2.77' }),
  );
  t.regex(error.message, /cannot listen on 192\.0\.2\.77:\d+/);
  t.regex(
    (error as { hint?: string }).hint ?? '',
    /^payloadServer\.secondBind 192\.0\.2\.77 is not an address of this machine/,
  );
  t.is((error as { code?: string }).code, 'E_CONFIG_INVALID');
});
