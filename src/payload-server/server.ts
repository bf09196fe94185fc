import { createServer, type RequestListener, type Server } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import type { PayloadFetch, PayloadPublisher } from '../core/index.js';
import { HarnessError, errorMessage } from '../core/index.js';

export interface PayloadServerOptions {
  /** Address to listen on; loopback for the embedded lab, a lab-facing address for real VMs. */
  readonly bind: string;
  readonly port: number;
  /** The name hosts use in the scriptlet URL; they must resolve it to this server (DNS or hosts file). */
  readonly advertisedHost: string;
  /** A second address to answer on, at the same port (an IP allowlist's boundary: one address in, one out). */
  readonly secondBind?: string | undefined;
}

export interface PayloadServer extends PayloadPublisher {
  /** e.g. http://payload.lab.test:41234 */
  readonly baseUrl: string;
  readonly advertisedHost: string;
  close(): Promise<void>;
}

/**
 * Serves each run's generated scriptlet under /<marker>/ and records every request it sees (source address,
 * time, user agent, host and path), found or not: the record is evidence that the emulation reached out.
 */
/**
 * Why the payload server cannot listen, with the fix that matches: an address this machine does not have is
 * the bind's fault, a port in use or reserved the port's. Input (exit 2): it is the config that is wrong.
 */
export function listenProblem(
  options: { readonly bind: string; readonly port: number; readonly key?: 'bind' | 'secondBind' },
  error: NodeJS.ErrnoException,
): HarnessError {
  // Linux routes all of 127.0.0.0/8 to loopback; macOS only 127.0.0.1 until an alias is added.
  const loopback = /^127\./.test(options.bind) && options.bind !== '127.0.0.1';
  const hint =
    error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
      ? `payloadServer.${options.key ?? 'bind'} ${options.bind} is not an address of this machine: use one of its own addresses that the lab hosts can reach${options.key === 'secondBind' ? '' : ' (or 0.0.0.0)'}${loopback ? `, or add it (macOS: sudo ifconfig lo0 alias ${options.bind})` : ''}.`
      : error.code === 'EADDRINUSE'
        ? `Port ${String(options.port)} is in use: pick another payloadServer.port, or 0 for any free one.`
        : error.code === 'EACCES'
          ? `Port ${String(options.port)} needs privileges: pick a port above 1023.`
          : 'Check payloadServer.bind and payloadServer.port in the config.';
  return new HarnessError(
    'E_CONFIG_INVALID',
    `[payload-server] cannot listen on ${options.bind}:${String(options.port)}: ${errorMessage(error)}`,
    { hint, cause: error },
  );
}

/**
 * The IPv4 addresses hosts connect to, as far as the options say (before or after the server starts): an
 * IP-literal advertised host, else the bind; and the second bind. An unspecified bind (0.0.0.0) says nothing
 * about the address hosts use, and no DNS is asked here.
 */
export function payloadAddresses(options: PayloadServerOptions): {
  address: string | null;
  secondAddress: string | null;
} {
  return {
    address: isIPv4(options.advertisedHost)
      ? options.advertisedHost
      : isIPv4(options.bind) && options.bind !== '0.0.0.0'
        ? options.bind
        : null,
    secondAddress: options.secondBind !== undefined && isIPv4(options.secondBind) ? options.secondBind : null,
  };
}

export async function startPayloadServer(options: PayloadServerOptions): Promise<PayloadServer> {
  const published = new Map<string, { content: string; contentType: string }>();
  const fetches: PayloadFetch[] = [];
  const handler: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const item = req.method === 'GET' ? published.get(path) : undefined;
    const status = item ? 200 : 404;
    fetches.push({
      time: new Date().toISOString(),
      source: req.socket.remoteAddress ?? 'unknown',
      host: req.headers.host ?? '',
      userAgent: req.headers['user-agent'] ?? '',
      path,
      status,
    });
    res.writeHead(status, { 'Content-Type': item?.contentType ?? 'text/plain', 'Cache-Control': 'no-store' });
    res.end(item?.content ?? 'not found');
  };
  const server = createServer(handler);
  await listen(server, options.bind, options.port);
  const port = (server.address() as AddressInfo).port;
  // The same handler at the second address: what one serves, the other does, and every fetch is recorded.
  const second = options.secondBind === undefined ? null : createServer(handler);
  if (second !== null && options.secondBind !== undefined) {
    try {
      await listen(second, options.secondBind, port, 'secondBind');
    } catch (error) {
      await closeServer(server);
      throw error;
    }
  }
  return {
    baseUrl: `http://${options.advertisedHost}:${port}`,
    advertisedHost: options.advertisedHost,
    ...payloadAddresses(options),
    publish: (path, content, contentType) => {
      published.set(path, { content, contentType });
    },
    withdraw: (path) => {
      published.delete(path);
    },
    fetches: (prefix) => fetches.filter((f) => f.path.startsWith(prefix)),
    close: async () => {
      await Promise.all([closeServer(server), second === null ? undefined : closeServer(second)]);
    },
  };
}

function listen(
  server: Server,
  bind: string,
  port: number,
  key: 'bind' | 'secondBind' = 'bind',
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(listenProblem({ bind, port, key }, error));
    });
    server.listen(port, bind, () => {
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });
}
