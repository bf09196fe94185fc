import { request } from 'node:http';

/**
 * A plain HTTP GET to an address with the Host header of the name it was resolved from. fetch() cannot send
 * a Host header of its own, and the payload server must see the name the host used, as it would from a VM.
 */
export function httpGet(options: {
  ip: string;
  port: number;
  path: string;
  host: string;
  userAgent: string;
  timeoutMs: number;
}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        setHost: false,
        host: options.ip,
        port: options.port,
        path: options.path,
        method: 'GET',
        headers: { Host: options.host, 'User-Agent': options.userAgent },
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
