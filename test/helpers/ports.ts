import { createServer } from 'node:net';

/**
 * A free loopback port for a server that another process binds later (sshd, the CLI's HEC endpoint).
 * It is drawn from below Linux's ephemeral range (32768-60999), where every `listen(0)` and outgoing
 * connection in the other tests lands, so nothing else can take it between this check and the bind.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => {
        resolve(false);
      });
      server.listen(port, '127.0.0.1', () => {
        server.close(() => {
          resolve(true);
        });
      });
    });
    if (free) return port;
  }
}
