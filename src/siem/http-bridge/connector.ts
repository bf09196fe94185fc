import { SiemError, type PluginContext, type SiemConnector } from '../../core/index.js';
import { BridgeConnector } from '../bridge-protocol.js';
import { secretFrom, siemHttp, type SiemHttp } from '../http.js';
import type { HttpBridgeSiemOptions } from './schema.js';

class HttpBridgeSiem extends BridgeConnector {
  readonly id = 'http-bridge';
  readonly #options: HttpBridgeSiemOptions;
  readonly #http: SiemHttp;
  constructor(options: HttpBridgeSiemOptions, http: SiemHttp, secrets: ReadonlySet<string>) {
    super({ dialect: options.dialect, label: `http-bridge ${options.name}`, secrets });
    this.#options = options;
    this.#http = http;
  }

  describe(): string {
    return `HTTP bridge "${this.#options.name}" (${new URL(this.#options.url).origin})`;
  }

  /**
   * One request: a JSON POST, one JSON answer. HTTP statuses are read as for every SIEM (401/403 stop, 429
   * and 5xx are retried, honouring Retry-After); a 200 that is not JSON, or is outside the protocol, is an
   * error naming the bridge.
   */
  protected async exchange(request: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const response = await this.#http.send('POST', this.#options.url, { json: request }, signal);
    try {
      return JSON.parse(response.text) as unknown;
    } catch (error) {
      throw new SiemError(
        'E_SIEM_QUERY',
        this.say(`answered HTTP ${String(response.status)} with no JSON document`),
        { cause: error },
      );
    }
  }

  dispose(): Promise<void> {
    return this.#http.close();
  }
}

/** The implementation `httpBridgeSiem.load()` hands out. */
// eslint-disable-next-line @typescript-eslint/require-await -- async so a missing secret rejects, never throws
export async function create(options: HttpBridgeSiemOptions, ctx: PluginContext): Promise<SiemConnector> {
  const token = options.tokenEnv === undefined ? null : secretFrom('http-bridge', ctx.env, options.tokenEnv);
  const secrets = new Set([...ctx.secrets, ...(token === null ? [] : [token])]);
  const http = siemHttp({
    plugin: `http-bridge ${options.name}`,
    baseUrl: options.url,
    tls: options.tls,
    timeoutMs: options.timeoutMs,
    auth: () => Promise.resolve(token === null ? {} : { authorization: `Bearer ${token}` }),
    secrets,
  });
  return new HttpBridgeSiem(options, http, secrets);
}
