import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** One HEC envelope as Splunk accepts it at /services/collector/event. */
export const HecEnvelope = z.looseObject({
  time: z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\d+(\.\d+)?$/)
        .transform(Number),
    ])
    .optional(),
  host: z.string().optional(),
  source: z.string().optional(),
  sourcetype: z.string().optional(),
  index: z.string().optional(),
  event: z.unknown(),
  fields: z.record(z.string(), z.unknown()).optional(),
});
export type HecEnvelope = z.infer<typeof HecEnvelope>;

/** Splunk's HEC answers: HTTP status, HEC code, text (siem-apis.md 2.8). */
const answers = {
  success: [200, 0, 'Success'],
  tokenRequired: [401, 2, 'Token is required'],
  invalidAuthorization: [401, 3, 'Invalid authorization'],
  invalidToken: [403, 4, 'Invalid token'],
  noData: [400, 5, 'No data'],
  invalidFormat: [400, 6, 'Invalid data format'],
  eventRequired: [400, 12, 'Event field is required'],
  eventBlank: [400, 13, 'Event field cannot be blank'],
} as const;

function reply(
  res: ServerResponse,
  answer: readonly [number, number, string],
  extra: Record<string, unknown> = {},
): void {
  res.writeHead(answer[0], { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ text: answer[2], code: answer[1], ...extra }));
}

/** Splits HEC's body: JSON objects concatenated with optional whitespace, not a JSON array. */
export function splitConcatenatedJson(body: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = -1;
  // Scanned by char code, strings skipped with indexOf: a fleet's forwarders post megabytes a second.
  for (let i = 0; i < body.length; i += 1) {
    const ch = body.charCodeAt(i);
    if (ch === quote) {
      const end = stringEnd(body, i + 1);
      if (end < 0) return null;
      i = end;
    } else if (ch === openBrace) {
      if (depth === 0) start = i;
      depth += 1;
    } else if (ch === closeBrace) {
      depth -= 1;
      if (depth < 0) return null;
      if (depth === 0) parts.push(body.slice(start, i + 1));
    } else if (depth === 0 && !isSpace(ch)) return null;
  }
  return depth === 0 ? parts : null;
}

const quote = 0x22;
const backslash = 0x5c;
const openBrace = 0x7b;
const closeBrace = 0x7d;

/** The index of the quote that closes a JSON string starting at `from` (after its opening quote); -1 if none. */
function stringEnd(body: string, from: number): number {
  for (let at = from; ;) {
    const q = body.indexOf('"', at);
    if (q < 0) return -1;
    // Escaped only by an odd run of backslashes right before it.
    let run = 0;
    while (q - run - 1 >= at && body.charCodeAt(q - run - 1) === backslash) run += 1;
    if (run % 2 === 0) return q;
    at = q + 1;
  }
}

/** JSON's whitespace and, as before, any other character `\s` reads as one. */
function isSpace(ch: number): boolean {
  return (
    ch === 0x20 ||
    ch === 0x0a ||
    ch === 0x0d ||
    ch === 0x09 ||
    (ch > 0x7f || ch === 0x0b || ch === 0x0c ? /\s/.test(String.fromCharCode(ch)) : false)
  );
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface HecServer {
  readonly url: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A loopback HTTP Event Collector. `accept` stores a validated batch; it runs once per request. */
export async function startHecServer(options: {
  readonly token: string;
  readonly host?: string;
  readonly port?: number;
  readonly accept: (envelopes: readonly HecEnvelope[]) => void;
}): Promise<HecServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/services/collector/health') {
        reply(res, [200, 17, 'HEC is healthy']);
        return;
      }
      if (req.method !== 'POST' || (path !== '/services/collector/event' && path !== '/services/collector')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ text: 'The requested URL was not found on this server.', code: 404 }));
        return;
      }
      const auth = req.headers.authorization;
      if (auth === undefined) {
        reply(res, answers.tokenRequired);
        return;
      }
      const match = /^Splunk (.+)$/.exec(auth);
      if (!match?.[1]) {
        reply(res, answers.invalidAuthorization);
        return;
      }
      if (!sameToken(match[1], options.token)) {
        reply(res, answers.invalidToken);
        return;
      }
      const body = await readBody(req, 16 * 1024 * 1024);
      if (body === null) {
        reply(res, answers.invalidFormat);
        return;
      }
      if (body.trim() === '') {
        reply(res, answers.noData);
        return;
      }
      const parts = splitConcatenatedJson(body);
      if (parts === null) {
        reply(res, answers.invalidFormat, { 'invalid-event-number': 0 });
        return;
      }
      const envelopes: HecEnvelope[] = [];
      for (const [index, part] of parts.entries()) {
        let raw: unknown;
        try {
          raw = JSON.parse(part);
        } catch {
          reply(res, answers.invalidFormat, { 'invalid-event-number': index });
          return;
        }
        if (typeof raw === 'object' && raw !== null && !('event' in raw)) {
          reply(res, answers.eventRequired, { 'invalid-event-number': index });
          return;
        }
        const parsed = HecEnvelope.safeParse(raw);
        if (!parsed.success) {
          reply(res, answers.invalidFormat, { 'invalid-event-number': index });
          return;
        }
        if (parsed.data.event === '' || parsed.data.event === null) {
          reply(res, answers.eventBlank, { 'invalid-event-number': index });
          return;
        }
        envelopes.push(parsed.data);
      }
      try {
        options.accept(envelopes);
      } catch {
        reply(res, [500, 8, 'Internal server error']);
        return;
      }
      reply(res, answers.success);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
