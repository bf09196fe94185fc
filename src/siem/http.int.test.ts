import test from 'ava';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SiemError } from '../core/index.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { siemHttp, TlsOptions } from './http.js';

/** A lab CA and a server certificate for 127.0.0.1 it signed, made with openssl for this test only. */
async function labCa(dir: string): Promise<{ caFile: string; key: Buffer; cert: Buffer }> {
  const run = (args: string[]) => execa('openssl', args, { cwd: dir });
  await run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=purple-harness test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ]);
  await run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ]);
  await execa('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1" > san.ext'], { cwd: dir });
  await run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'server.pem',
  ]);
  return {
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key')),
    cert: readFileSync(join(dir, 'server.pem')),
  };
}

test('TLS: a lab CA file is trusted, an unknown CA is refused with a hint, and insecure skips verification', async (t) => {
  const dir = tempDir(t);
  const { caFile, key, cert } = await labCa(dir);
  const server = createServer({ key, cert }, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
  });
  const baseUrl = `https://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const http = (tls: Record<string, unknown>) =>
    siemHttp({
      plugin: 'test',
      baseUrl,
      tls: TlsOptions.parse(tls),
      timeoutMs: 5000,
      auth: () => Promise.resolve({}),
      secrets: new Set(),
    });

  const trusted = http({ caFile });
  t.is((await trusted.send('GET', '/')).text, '{"ok":true}');
  await trusted.close();

  const strict = http({});
  const error = await t.throwsAsync(strict.send('GET', '/'), { instanceOf: SiemError });
  t.regex(error.message, /\[siem:test\] GET \/ failed: .*(certificate|self-signed|issuer)/i);
  t.regex(error.hint ?? '', /tls\.caFile/);
  await strict.close();

  const insecure = http({ insecure: true });
  t.is((await insecure.send('GET', '/')).status, 200);
  await insecure.close();
});

test('TLS: an unreadable CA file is a usage error naming the file', (t) => {
  const error = t.throws(() =>
    siemHttp({
      plugin: 'test',
      baseUrl: 'https://127.0.0.1:1',
      tls: TlsOptions.parse({ caFile: '/nonexistent/ca.pem' }),
      timeoutMs: 1000,
      auth: () => Promise.resolve({}),
      secrets: new Set(),
    }),
  );
  t.regex(error.message, /\[siem:test\] cannot read tls\.caFile \/nonexistent\/ca\.pem/);
});
