import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import {
  ExecError,
  HarnessError,
  type ExecSession,
  type Executor,
  type HostTarget,
  type OperationResult,
  type PluginContext,
  type RemoteOperation,
  errorMessage,
} from '../../core/index.js';
import { fingerprint } from '../../util/fingerprint.js';
import { redact } from '../../util/redact.js';
import { toSftpPath } from '../../util/winpath.js';
import {
  encodeCommand,
  fileCommand,
  fitsCmdLine,
  parseFrame,
  readableStderr,
  scriptsDir,
} from './powershell.js';
import type { SshExecutorOptions } from './schema.js';

const { Client } = ssh2;
type SshClient = InstanceType<typeof Client>;

async function connect(
  host: HostTarget,
  options: SshExecutorOptions,
  ctx: PluginContext,
): Promise<{ client: SshClient; presented: string }> {
  const client = new Client();
  let presented: string | null = null;
  const config: ConnectConfig = {
    host: host.address,
    port: host.port,
    username: host.username,
    readyTimeout: options.readyTimeoutMs,
    keepaliveInterval: options.keepaliveIntervalMs,
    keepaliveCountMax: 3,
    // Without a verifier ssh2 accepts any host key; we accept only the inventory's pinned fingerprint. An
    // unpinned host is never authenticated to: its key is read by probeHostKey, which sends no credential.
    hostVerifier: (key: Buffer) => {
      presented = fingerprint(key);
      return host.hostKeySha256 !== null && presented === host.hostKeySha256;
    },
    ...('password' in host.auth
      ? { password: host.auth.password }
      : 'agent' in host.auth
        ? { agent: host.auth.agent }
        : {
            privateKey: host.auth.privateKey,
            ...(host.auth.passphrase === undefined ? {} : { passphrase: host.auth.passphrase }),
          }),
  };
  return new Promise<{ client: SshClient; presented: string }>((resolve, reject) => {
    // ssh2 may emit more than one error for one connection (a handshake timeout, then "Connection lost before
    // handshake" when the socket closes): a listener kept for the client's life takes them all, the first
    // settles the promise, and none is ever left to crash the process.
    let settled = false;
    client.once('ready', () => {
      settled = true;
      // Each remote step is a small request and a small answer: Nagle's algorithm with delayed ACKs
      // would add ~40 ms to every one of them.
      client.setNoDelay(true);
      resolve({ client, presented: presented ?? 'unknown' });
    });
    client.on('error', (error: Error & { level?: string }) => {
      if (settled) return;
      settled = true;
      if (presented !== null && host.hostKeySha256 !== null && presented !== host.hostKeySha256) {
        reject(
          new ExecError(
            'E_EXEC_HOST_KEY',
            `[executor:ssh] ${host.name} (${host.address}:${host.port}) presented host key ${presented}, but the inventory pins ${host.hostKeySha256}`,
            {
              hint: 'If the host was rebuilt, verify the new key out of band and update hostKeySha256 in the inventory.',
              cause: error,
            },
          ),
        );
        return;
      }
      const auth = error.level === 'client-authentication';
      reject(
        new ExecError(
          'E_EXEC_CONNECT',
          redact(
            `[executor:ssh] cannot connect to ${host.name} (${host.address}:${host.port}): ${error.message}`,
            ctx.secrets,
          ),
          {
            hint: auth
              ? 'Check the user name and the credential variable named in the inventory; admin keys belong in administrators_authorized_keys.'
              : 'Check that the host is up and sshd listens on that port.',
            cause: error,
          },
        ),
      );
    });
    client.connect(config);
  });
}

/**
 * The SSH host key a host presents, read during the key exchange and then refused: the handshake stops
 * before user authentication, so no user name that matters, password or key signature is ever sent.
 */
export function probeHostKey(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolveKey, reject) => {
    const client = new Client();
    let key: string | null = null;
    const done = (error: Error | null): void => {
      client.end();
      if (key !== null) resolveKey(key);
      else reject(error ?? new Error('no host key was presented'));
    };
    client.on('error', (error) => {
      done(error);
    });
    client.connect({
      host: address,
      port,
      username: 'purple-harness-probe',
      readyTimeout: timeoutMs,
      hostVerifier: (blob: Buffer) => {
        key = fingerprint(blob);
        setImmediate(() => {
          done(null);
        });
        return false;
      },
    });
  });
}

class SshSession implements ExecSession {
  readonly hostKeySha256: string;
  #client: SshClient | null;
  #sftp: SFTPWrapper | null = null;
  readonly #host: HostTarget;
  readonly #options: SshExecutorOptions;
  readonly #ctx: PluginContext;

  constructor(
    client: SshClient,
    presented: string,
    host: HostTarget,
    options: SshExecutorOptions,
    ctx: PluginContext,
  ) {
    this.#client = this.#adopt(client);
    this.hostKeySha256 = presented;
    // Reconnects within this session must meet the same key as the first connection.
    this.#host = { ...host, hostKeySha256: presented };
    this.#options = options;
    this.#ctx = ctx;
  }

  /** A connection the server drops is forgotten at once, so the next step (clean-up above all) reconnects. */
  #adopt(client: SshClient): SshClient {
    client.once('close', () => {
      if (this.#client === client) {
        this.#client = null;
        this.#sftp = null;
      }
    });
    return client;
  }

  async #ready(): Promise<SshClient> {
    this.#client ??= this.#adopt((await connect(this.#host, this.#options, this.#ctx)).client);
    return this.#client;
  }

  async #sftpSession(): Promise<SFTPWrapper> {
    if (this.#sftp) return this.#sftp;
    const client = await this.#ready();
    this.#sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
      client.sftp((error, sftp) => {
        if (error) reject(error);
        else resolve(sftp);
      });
    });
    return this.#sftp;
  }

  /** INF text goes up as ANSI (latin1) bytes, as cmstp reads it. */
  async upload(remotePath: string, content: string): Promise<void> {
    await this.#writeFile(remotePath, Buffer.from(content, 'latin1'));
  }

  async #writeFile(remotePath: string, content: Buffer): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A stuck SFTP channel cannot be cancelled on its own: drop the connection; the next step reconnects.
        this.#client?.destroy();
        this.#client = null;
        this.#sftp = null;
        reject(
          new ExecError(
            'E_EXEC_TIMEOUT',
            `[executor:ssh] upload of ${remotePath} to ${this.#host.name} took longer than ${this.#options.uploadTimeoutMs} ms`,
          ),
        );
      }, this.#options.uploadTimeoutMs);
    });
    try {
      await Promise.race([this.#upload(remotePath, content), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #upload(remotePath: string, content: Buffer): Promise<void> {
    const target = toSftpPath(remotePath);
    try {
      const sftp = await this.#sftpSession();
      const dirs: string[] = [];
      for (let dir = posix.dirname(target); /^\/[A-Za-z]:\/./.test(dir); dir = posix.dirname(dir))
        dirs.unshift(dir);
      const exists = (dir: string): Promise<boolean> =>
        new Promise<boolean>((resolve) => {
          sftp.stat(dir, (error) => {
            resolve(!error);
          });
        });
      for (const dir of dirs) {
        if (await exists(dir)) continue;
        await new Promise<void>((resolve, reject) => {
          sftp.mkdir(dir, (error) => {
            if (!error) resolve();
            // Another session may have made it between our stat and mkdir (SFTP says only "Failure").
            else
              void exists(dir).then((made) => {
                if (made) resolve();
                else reject(error);
              });
          });
        });
      }
      await new Promise<void>((resolve, reject) => {
        sftp.writeFile(target, content, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    } catch (error) {
      throw new ExecError(
        'E_EXEC_PROTOCOL',
        `[executor:ssh] upload of ${remotePath} to ${this.#host.name} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  async run(operation: RemoteOperation, signal?: AbortSignal): Promise<OperationResult> {
    const encoded = encodeCommand(operation.script);
    if (fitsCmdLine(encoded)) return this.#exec(operation, encoded, signal);
    // Over cmd.exe's 8191-character line: upload the script as a .ps1 and run it with -File, then remove it.
    const scriptPath = `${scriptsDir}\\${operation.name}-${randomBytes(6).toString('hex')}.ps1`;
    await this.#writeFile(
      scriptPath,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(operation.script, 'utf8')]),
    );
    try {
      return await this.#exec(operation, fileCommand(scriptPath), signal);
    } finally {
      await this.#remove(scriptPath);
    }
  }

  async #remove(remotePath: string): Promise<void> {
    try {
      const sftp = await this.#sftpSession();
      await new Promise<void>((resolve) => {
        sftp.unlink(toSftpPath(remotePath), () => {
          resolve();
        });
      });
    } catch {
      // Best effort: the run folder's clean-up and `purple-harness cleanup` report what stays.
    }
  }

  async #exec(operation: RemoteOperation, command: string, signal?: AbortSignal): Promise<OperationResult> {
    // Listeners never fire on a signal that is already aborted: an interrupted run starts no new operation.
    if (signal?.aborted === true)
      throw new HarnessError(
        'E_INTERRUPTED',
        `[executor:ssh] ${operation.name} on ${this.#host.name} not started: interrupted`,
      );
    const client = await this.#ready();
    const started = Date.now();
    return new Promise<OperationResult>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      let channel: ClientChannel | null = null;
      const finish = (exitCode: number | null, timedOut: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        signal?.removeEventListener('abort', onAbort);
        resolve({
          operation: operation.name,
          exitCode,
          stdout: redact(stdout, this.#ctx.secrets),
          stderr: redact(readableStderr(stderr), this.#ctx.secrets),
          durationMs: Date.now() - started,
          timedOut,
          frame: timedOut ? null : parseFrame(stdout),
        });
      };
      const kill = (): void => {
        // Closing only the channel can leave the remote shell running (Win32-OpenSSH #1751): drop the connection.
        channel?.destroy();
        client.destroy();
        this.#client = null;
        this.#sftp = null;
      };
      const watchdog = setTimeout(() => {
        kill();
        finish(null, true);
      }, operation.timeoutMs);
      const onAbort = (): void => {
        kill();
        if (!settled) {
          settled = true;
          clearTimeout(watchdog);
          reject(
            new HarnessError(
              'E_INTERRUPTED',
              `[executor:ssh] ${operation.name} on ${this.#host.name} interrupted`,
            ),
          );
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cap = this.#options.maxOutputBytes;
      try {
        client.exec(command, (error, stream) => {
          if (error) {
            clearTimeout(watchdog);
            settled = true;
            reject(
              new ExecError(
                'E_EXEC_PROTOCOL',
                `[executor:ssh] exec of ${operation.name} on ${this.#host.name} refused: ${error.message}`,
                { cause: error },
              ),
            );
            return;
          }
          channel = stream;
          // Close stdin at once, and read both streams: ssh2 emits 'close' only once they are drained.
          stream.end();
          stream.on('data', (chunk: Buffer) => {
            if (stdout.length < cap) stdout += chunk.toString('utf8');
          });
          stream.stderr.on('data', (chunk: Buffer) => {
            if (stderr.length < cap) stderr += chunk.toString('utf8');
          });
          stream.on('close', (code: number | null | undefined) => {
            // No exit-status from the server means "unknown", never success.
            finish(typeof code === 'number' ? code : null, false);
          });
        });
      } catch (error) {
        clearTimeout(watchdog);
        settled = true;
        reject(
          new ExecError('E_EXEC_CONNECT', `[executor:ssh] ${this.#host.name}: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      }
    });
  }

  close(): Promise<void> {
    this.#sftp?.end();
    this.#client?.end();
    this.#client = null;
    this.#sftp = null;
    return Promise.resolve();
  }
}

/** The implementation `sshExecutor.load()` hands out. */
export function create(options: SshExecutorOptions, ctx: PluginContext): Executor {
  return {
    async open(host, signal) {
      // An interrupted run opens nothing new (an already-aborted signal never fires its listeners).
      if (signal?.aborted === true)
        throw new HarnessError('E_INTERRUPTED', `[executor:ssh] not connecting to ${host.name}: interrupted`);
      const { client, presented } = await connect(host, options, ctx);
      return new SshSession(client, presented, host, options, ctx);
    },
  };
}
