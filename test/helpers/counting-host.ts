import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A lab host on loopback that counts every connection made to it, and a config (`file` in `cwd`) naming
 * it with a pinned key and the local SIEM, plus `extra` YAML. Returns the count so far.
 */
export async function countingHost(
  t: ExecutionContext,
  cwd: string,
  options: { readonly file?: string; readonly extra?: string } = {},
): Promise<() => number> {
  let connections = 0;
  const host = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  t.teardown(() => host.close());
  const port = (host.address() as AddressInfo).port;
  writeFileSync(
    join(cwd, options.file ?? 'harness.yaml'),
    `lab:\n  hosts:\n    - name: WIN10-LAB-01\n      address: 127.0.0.1\n      port: ${String(port)}\n      username: labadmin\n      hostKeySha256: "SHA256:${'A'.repeat(43)}"\n      passwordEnv: LAB_PASSWORD\n      lab: true\nsiem:\n  type: local\n  database: ":memory:"\n${options.extra ?? ''}`,
  );
  return () => connections;
}
