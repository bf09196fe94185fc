import test from 'ava';
import { request } from 'node:http';
import { startPayloadServer } from './server.js';

function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, setHost: false, headers: { Host: host, 'User-Agent': 'test-agent' } },
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
