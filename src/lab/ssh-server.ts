import { timingSafeEqual } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, SFTPWrapper } from 'ssh2';
import { fingerprint } from '../util/fingerprint.js';
import { fromSftpPath } from '../util/winpath.js';
import { runOperation } from './operations.js';
import type { OperationCall, OperationRunner, SimulatedWindowsHost } from './windows-host.js';
import { parentDir, type WindowsProcess } from './windows-model.js';

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

export interface SshServerOptions {
  readonly host: SimulatedWindowsHost;
  readonly username: string;
  readonly password: string;
  readonly authorizedKey?: string;
  /**
   * Who carries out each remote operation: by default the model (lab/operations.ts); the script-executing
   * target runs the script itself in PowerShell (lab/script-lab/).
   */
  readonly runner?: (call: OperationCall) => OperationRunner;
  /** The loopback port to listen on; 0 or absent: any free one. */
  readonly port?: number;
  /*
   * The fault knobs below name operations (`snapshot`), or one call of an operation (`snapshot#2`: the
   * second snapshot this server is asked for).
   */
  /** Fault knob: exec requests for these operations are accepted and then never answered. */
  readonly hangOperations?: readonly string[];
  /** Fault knob: for these operations the connection drops mid-exec, with no exit status sent. */
  readonly dropSessionOn?: readonly string[];
  /** Fault knob: these operations answer in full but never send an exit status. */
  readonly omitExitStatusOn?: readonly string[];
  /** Fault knob: these operations' output arrives a few bytes at a time. */
  readonly slowOutputOn?: readonly string[];
}

export interface RunningSshServer {
  readonly port: number;
  readonly hostKeySha256: string;
  close(): Promise<void>;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function parse(key: string): ParsedKey {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw parsed;
  return parsed;
}

function serveSftp(sftp: SFTPWrapper, host: SimulatedWindowsHost, server: WindowsProcess): void {
  const handles = new Map<number, { path: string; content: Buffer; write: boolean }>();
  let nextHandle = 0;
  const handleOf = (buffer: Buffer): number => (buffer.length === 4 ? buffer.readUInt32BE(0) : -1);
  const attrs = (path: string) => {
    const entry = host.drive.get(path);
    const dir = host.drive.isDir(path);
    const time = Math.floor((entry?.created.getTime() ?? Date.now()) / 1000);
    return {
      mode: dir ? 0o40755 : 0o100644,
      uid: 0,
      gid: 0,
      size: entry?.content.length ?? 0,
      atime: time,
      mtime: time,
    };
  };

  sftp.on('OPEN', (reqid, filename, flags) => {
    const path = fromSftpPath(filename);
    const write = (flags & OPEN_MODE.WRITE) !== 0;
    const entry = host.drive.get(path);
    if (write ? !host.drive.isDir(parentDir(path)) : !entry || entry.dir) {
      sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
      return;
    }
    const handle = nextHandle++;
    const truncate = (flags & OPEN_MODE.TRUNC) !== 0 || !entry;
    handles.set(handle, { path, write, content: truncate ? Buffer.alloc(0) : Buffer.from(entry.content) });
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(handle, 0);
    sftp.handle(reqid, buffer);
  });
  sftp.on('WRITE', (reqid, handleBuffer, offset, data) => {
    const open = handles.get(handleOf(handleBuffer));
    if (!open?.write) {
      sftp.status(reqid, STATUS_CODE.FAILURE);
      return;
    }
    const end = offset + data.length;
    if (end > open.content.length)
      open.content = Buffer.concat([open.content, Buffer.alloc(end - open.content.length)]);
    data.copy(open.content, offset);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  sftp.on('READ', (reqid, handleBuffer, offset, length) => {
    const open = handles.get(handleOf(handleBuffer));
    if (!open) {
      sftp.status(reqid, STATUS_CODE.FAILURE);
      return;
    }
    if (offset >= open.content.length) {
      sftp.status(reqid, STATUS_CODE.EOF);
      return;
    }
    sftp.data(reqid, open.content.subarray(offset, offset + length));
  });
  sftp.on('CLOSE', (reqid, handleBuffer) => {
    const id = handleOf(handleBuffer);
    const open = handles.get(id);
    handles.delete(id);
    if (!open) {
      sftp.status(reqid, STATUS_CODE.FAILURE);
      return;
    }
    // The harness uploads only payloads over SFTP, so each written file is the payload being staged.
    if (open.write) host.writeFileAs(server, open.path, open.content, 'payload-file');
    sftp.status(reqid, STATUS_CODE.OK);
  });
  const stat = (reqid: number, filename: string): void => {
    const path = fromSftpPath(filename);
    if (!host.drive.exists(path)) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    else sftp.attrs(reqid, attrs(path));
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  sftp.on('FSTAT', (reqid, handleBuffer) => {
    const open = handles.get(handleOf(handleBuffer));
    if (!open) sftp.status(reqid, STATUS_CODE.FAILURE);
    else sftp.attrs(reqid, { ...attrs(open.path), size: open.content.length });
  });
  sftp.on('MKDIR', (reqid, filename) => {
    const path = fromSftpPath(filename);
    // Win32-OpenSSH answers an existing folder with code 4 (Failure), not EEXIST.
    if (host.drive.exists(path)) sftp.status(reqid, STATUS_CODE.FAILURE);
    else if (!host.drive.isDir(parentDir(path))) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    else {
      host.drive.mkdir(path);
      sftp.status(reqid, STATUS_CODE.OK);
    }
  });
  sftp.on('REMOVE', (reqid, filename) => {
    const path = fromSftpPath(filename);
    if (!host.drive.exists(path) || host.drive.isDir(path)) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    else {
      host.drive.remove(path);
      sftp.status(reqid, STATUS_CODE.OK);
    }
  });
  sftp.on('RMDIR', (reqid, filename) => {
    const path = fromSftpPath(filename);
    if (!host.drive.isDir(path)) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    else if (host.drive.list(path).length > 0) sftp.status(reqid, STATUS_CODE.FAILURE);
    else {
      host.drive.remove(path);
      sftp.status(reqid, STATUS_CODE.OK);
    }
  });
  sftp.on('REALPATH', (reqid, filename) => {
    const path = filename === '.' || filename === '' ? host.profileDir : fromSftpPath(filename);
    const canonical = `/${path.replaceAll('\\', '/')}`;
    sftp.name(reqid, [{ filename: canonical, longname: canonical, attrs: attrs(path) }]);
  });
}

/**
 * A fresh ed25519 host key. ssh2's generator drops a leading zero byte of the public key about one time
 * in 256, and then cannot parse its own key (mscdex/ssh2#1390, #1513): generate again until both halves parse.
 */
function hostKeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt += 1) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error))
      return pair;
  }
  throw new Error('could not generate a host key that ssh2 can parse');
}

/** An ssh2 Server on 127.0.0.1 that answers like Win32-OpenSSH on a lab VM. */
export async function startSshServer(options: SshServerOptions): Promise<RunningSshServer> {
  const { host } = options;
  const hostKey = hostKeyPair();
  const hostKeySha256 = fingerprint(parse(hostKey.public).getPublicSSH());
  const authorized = options.authorizedKey === undefined ? undefined : parse(options.authorizedKey);
  const connections = new Set<Connection>();
  const calls = new Map<string, number>();

  const server = new Server({ hostKeys: [hostKey.private], ident: 'OpenSSH_for_Windows_9.5' }, (client) => {
    connections.add(client);
    // As sshd does for every session, exec ones too (OpenSSH packet.c, ssh_packet_set_interactive calls
    // set_nodelay): without it, each small answer waits on Nagle and the client's delayed ACK.
    // ssh2 has the call on the server's connections too, but its types do not declare it there.
    const setNoDelay: unknown = Reflect.get(client, 'setNoDelay');
    if (typeof setNoDelay === 'function') Reflect.apply(setNoDelay, client, [true]);
    let session: WindowsProcess | null = null;
    client.on('authentication', (ctx) => {
      if (ctx.username !== options.username) {
        ctx.reject(['password', 'publickey']);
        return;
      }
      if (ctx.method === 'password' && sameText(ctx.password, options.password)) {
        ctx.accept();
        return;
      }
      if (
        ctx.method === 'publickey' &&
        authorized &&
        ctx.key.algo === authorized.type &&
        ctx.key.data.equals(authorized.getPublicSSH())
      ) {
        if (
          ctx.signature === undefined ||
          (ctx.blob !== undefined && authorized.verify(ctx.blob, ctx.signature, ctx.hashAlgo))
        ) {
          ctx.accept();
          return;
        }
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      const sessionProcess = host.openSession();
      session = sessionProcess;
      client.on('session', (accept) => {
        const channelSession = accept();
        // A pty breaks Windows exit codes; refusing it catches accidental use (windows-remote.md decision 2).
        channelSession.on('pty', (_accept, reject) => {
          reject();
        });
        channelSession.on('env', (acceptEnv) => {
          acceptEnv();
        });
        channelSession.on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          const operation = host.operationOf(info.command);
          const call = operation === undefined ? 0 : (calls.get(operation) ?? 0) + 1;
          if (operation !== undefined) calls.set(operation, call);
          const faulty = (knob: readonly string[] | undefined): boolean =>
            operation !== undefined &&
            knob !== undefined &&
            (knob.includes(operation) || knob.includes(`${operation}#${String(call)}`));
          if (faulty(options.hangOperations)) return;
          void host
            .exec(
              sessionProcess,
              info.command,
              options.runner ??
                ((call) => ({ run: (shell) => runOperation(host, call.operation, call.params, shell) })),
            )
            .then(async (outcome) => {
              // Fault knob: the session ends mid-exec, after the work happened but before any exit status.
              if (faulty(options.dropSessionOn)) {
                client.end();
                return;
              }
              if (faulty(options.slowOutputOn)) {
                // Fault knob: output trickles out a few bytes at a time, as over a slow or busy link.
                for (let i = 0; i < outcome.stdout.length; i += 7) {
                  channel.write(outcome.stdout.slice(i, i + 7));
                  await delay(2);
                }
              } else if (outcome.stdout !== '') channel.write(outcome.stdout);
              if (outcome.stderr !== '') channel.stderr.write(outcome.stderr);
              if (!faulty(options.omitExitStatusOn)) {
                channel.exit(outcome.exitCode);
              }
              channel.end();
            });
        });
        channelSession.on('sftp', (acceptSftp) => {
          serveSftp(acceptSftp(), host, host.startSftpServer(sessionProcess));
        });
      });
    });
    client.on('close', () => {
      connections.delete(client);
      if (session) host.closeSession(session);
    });
    client.on('error', () => undefined);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hostKeySha256,
    close: async () => {
      for (const client of connections) client.end();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
