import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { z } from 'zod';
import { HarnessError, SiemError, errorMessage } from '../core/index.js';
import type { TlsOptions } from './tls.js';
import { redact } from '../util/redact.js';

// The TLS options live apart from the HTTP client, so reading a config does not load undici (#18 start-up).
export { TlsOptions } from './tls.js';

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface SiemHttp {
  send(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    options?: {
      readonly query?: Readonly<Record<string, string>>;
      readonly form?: Readonly<Record<string, string>>;
      readonly json?: unknown;
      /** A ready body (NDJSON for `_bulk`); set its content-type in `headers`. */
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
      /** Statuses the caller handles itself (e.g. 204, or 404 for a missing index); others throw. */
      readonly accept?: readonly number[];
    },
    signal?: AbortSignal,
  ): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Seconds or an HTTP date, as Retry-After allows; capped so one answer cannot stall a run. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 120_000) : undefined;
}

/**
 * The one HTTP path every SIEM connector uses: TLS options, a deadline, and status codes turned into
 * SiemErrors that name the plug-in and say whether a later poll may succeed (siem-apis.md 1.5).
 */
export function siemHttp(options: {
  readonly plugin: string;
  readonly baseUrl: string;
  readonly tls: TlsOptions;
  readonly timeoutMs: number;
  readonly auth: () => Promise<Record<string, string>>;
  readonly secrets: ReadonlySet<string>;
}): SiemHttp {
  const base = new URL(options.baseUrl);
  let ca: string | undefined;
  if (options.tls.caFile !== undefined) {
    try {
      ca = readFileSync(options.tls.caFile, 'utf8');
    } catch (error) {
      throw new HarnessError(
        'E_USAGE',
        `[siem:${options.plugin}] cannot read tls.caFile ${options.tls.caFile}`,
        {
          hint: 'Point tls.caFile at the PEM file of the CA that signed the SIEM certificate.',
          cause: error,
        },
      );
    }
  }
  const dispatcher = new Agent({
    connect: { ...(ca === undefined ? {} : { ca }), rejectUnauthorized: !options.tls.insecure },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const say = (text: string): string => redact(`[siem:${options.plugin}] ${text}`, options.secrets);

  return {
    async send(method, path, request_ = {}, signal) {
      const url = new URL(path, base);
      for (const [name, value] of Object.entries(request_.query ?? {})) url.searchParams.set(name, value);
      const headers: Record<string, string> = { accept: 'application/json', ...(await options.auth()) };
      let body: string | undefined;
      if (request_.form !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(request_.form).toString();
      } else if (request_.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request_.json);
      } else if (request_.body !== undefined) {
        body = request_.body;
      }
      Object.assign(headers, request_.headers);
      const where = `${method} ${url.pathname}`;
      let response;
      try {
        response = await request(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          dispatcher,
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        // Ctrl-C: said as the plug-in's own interruption, not as an unreachable SIEM.
        if (signal?.aborted === true)
          throw new HarnessError('E_INTERRUPTED', say(`${where} interrupted`), { cause: error });
        throw new SiemError('E_SIEM_UNAVAILABLE', say(`${where} failed: ${errorMessage(error)}`), {
          hint: `Check that ${base.origin} is reachable from this machine${options.tls.caFile === undefined ? ', and set tls.caFile if it uses a lab CA' : ''}.`,
          cause: error,
        });
      }
      const text = await response.body.text();
      const result = { status: response.statusCode, text, headers: response.headers };
      if (
        (response.statusCode >= 200 && response.statusCode < 300) ||
        request_.accept?.includes(response.statusCode)
      )
        return result;
      const detail = `${where} answered HTTP ${String(response.statusCode)}: ${text.slice(0, 300)}`;
      if (response.statusCode === 401 || response.statusCode === 403) {
        throw new SiemError('E_SIEM_AUTH', say(detail), {
          hint: 'Check the credential variables named in the siem config, and the permissions in docs/connectors/.',
        });
      }
      if ([408, 429, 500, 502, 503, 504].includes(response.statusCode)) {
        const wait = retryAfterMs(response.headers['retry-after']);
        throw new SiemError('E_SIEM_UNAVAILABLE', say(detail), {
          retryable: true,
          ...(wait === undefined ? {} : { retryAfterMs: wait }),
        });
      }
      throw new SiemError('E_SIEM_QUERY', say(detail), { retryable: false });
    },
    close: () => dispatcher.close(),
  };
}

/** A vendor value as text: strings and numbers as they are, anything else empty. */
export function textOf(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** A secret a connector needs, read once at start so a missing one fails before any emulation runs. */
export function secretFrom(
  plugin: string,
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string {
  const value = env[name];
  if (value === undefined || value === '')
    throw new HarnessError('E_SECRET_MISSING', `[siem:${plugin}] the variable ${name} is not set`, {
      hint: `Set ${name} in the environment or in .env.`,
    });
  return value;
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Reads a JSON answer against a loose schema; anything else is an error naming the plug-in and the call. */
export function parseAs<S extends z.ZodType>(
  plugin: string,
  schema: S,
  response: HttpResponse,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(parseJson(plugin, response));
  if (!parsed.success)
    throw new SiemError(
      'E_SIEM_QUERY',
      `[siem:${plugin}] unexpected ${what} answer: ${parsed.error.message}`,
    );
  return parsed.data;
}

/** Reads a JSON body the loose way vendor responses deserve; malformed JSON is an error naming the plug-in. */
export function parseJson(plugin: string, response: HttpResponse): unknown {
  try {
    return JSON.parse(response.text) as unknown;
  } catch (error) {
    throw new SiemError(
      'E_SIEM_QUERY',
      `[siem:${plugin}] the answer is not JSON: ${response.text.slice(0, 200)}`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
}
