import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Faults every loopback vendor fake can inject into its search endpoint. */
export type HttpFault =
  | { readonly status: number; readonly body?: string; readonly retryAfter?: string }
  | { readonly malformed: true }
  | { readonly hang: true };

export async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/**
 * Answers with a fault: no answer at all (`hang`), a truncated body, or a status (with Retry-After).
 * Returns false for faults the caller handles itself.
 */
export function answerFault(
  response: ServerResponse,
  fault: HttpFault | Record<string, unknown>,
  bodies: { readonly malformed: string; readonly status: unknown },
): boolean {
  if ('hang' in fault) return true;
  if ('malformed' in fault) {
    send(response, 200, bodies.malformed);
    return true;
  }
  if ('status' in fault && typeof fault.status === 'number') {
    const retryAfter = typeof fault.retryAfter === 'string' ? { 'retry-after': fault.retryAfter } : {};
    send(response, fault.status, typeof fault.body === 'string' ? fault.body : bodies.status, retryAfter);
    return true;
  }
  return false;
}

/** Listens on loopback; `close` also drops hung connections. */
export async function listenLoopback(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * A HEC receiver on loopback that stores each event as a flat JSON line in `file`: the "SIEM" of the
 * command plug-in fixture (test/fixtures/siem-command-plugin.ts), which reads that file back.
 */
export async function startBridgeReceiver(
  file: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  let n = 0;
  const receiver = createServer((request, response) => {
    void (async () => {
      for (const line of (await bodyOf(request)).split('\n').filter(Boolean)) {
        const envelope = JSON.parse(line) as { time: number; host: string; event: Record<string, unknown> };
        n += 1;
        const record = {
          ref: `bridge:${String(n)}`,
          time: new Date(envelope.time * 1000).toISOString(),
          host: envelope.host,
          eventId: Number(envelope.event.EventID),
          fields: envelope.event,
        };
        appendFileSync(file, `${JSON.stringify(record)}\n`);
      }
      send(response, 200, { text: 'Success', code: 0 });
    })();
  });
  return listenLoopback(receiver);
}
