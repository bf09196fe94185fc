import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './ports.js';
import { join } from 'node:path';

/**
 * Debian's real OpenSSH sshd on 127.0.0.1, for transport tests against a server we did not write.
 *
 * Everything it needs lives in namespaces the helper creates: `unshare` gives it a private mount namespace
 * (a test user is bind-mounted into /etc/passwd and /etc/shadow there, so the machine's own files are never
 * touched) and a private PID namespace (so stopping it ends every session process too). The test user is
 * chrooted into a folder holding a writable `/C:` tree, so SFTP's Windows-style `/C:/…` paths work as they do
 * against Win32-OpenSSH. Its login shell stands in for cmd.exe + powershell.exe: it decodes
 * `-EncodedCommand` (UTF-16LE base64) or reads a `-File` script and runs the text with bash, so tests send
 * bash where the product sends PowerShell. Needs root, `sshd`, `unshare` and `mount`.
 */
export interface RealSshd {
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly privateKey: string;
  /** The host key's fingerprint as `ssh-keygen -l -E sha256` prints it. */
  readonly hostKeySha256: string;
  /** The chroot; `/C:/x` on the server is `join(root, 'C:', 'x')` here. */
  readonly root: string;
  log(): string;
  stop(): Promise<void>;
}

const sshdPath = '/usr/sbin/sshd';
const username = 'ph-sshd-test';

/** Why a real sshd cannot start here, or null when it can. */
export function realSshdUnavailable(): string | null {
  if (!existsSync(sshdPath)) return `${sshdPath} is missing (apt-get install openssh-server)`;
  if (process.getuid?.() !== 0) return 'the tests must run as root to start sshd with a test user';
  for (const tool of ['/usr/bin/unshare', '/usr/bin/mount', '/usr/bin/ssh-keygen', '/usr/bin/openssl'])
    if (!existsSync(tool)) return `${tool} is missing`;
  return null;
}

// Runs as the test user's login shell inside the chroot; sshd calls it as `shell -c "<command>"`.
const loginShell = `#!/bin/bash
[ "$1" = "-c" ] || exit 90
cmd="$2"
case "$cmd" in
  powershell.exe\\ *-EncodedCommand\\ *)
    exec bash -c "$(printf '%s' "\${cmd##* }" | base64 -d | iconv -f UTF-16LE -t UTF-8)" ;;
  powershell.exe\\ *-File\\ *)
    path="\${cmd##*-File }"; path="\${path//\\"/}"; path="/\${path//\\\\//}"
    exec bash -c "$(tail -c +4 "$path")" ;;
  *) exec /bin/sh -c "$cmd" ;;
esac
`;

function unusedId(): number {
  const taken = new Set(
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => Number(line.split(':')[2])),
  );
  let id = 64_000;
  while (taken.has(id)) id += 1;
  return id;
}

async function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString('latin1').startsWith('SSH-2.0-'));
    });
    socket.once('error', () => {
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startRealSshd(): Promise<RealSshd> {
  const unavailable = realSshdUnavailable();
  if (unavailable !== null) throw new Error(`cannot start a real sshd: ${unavailable}`);
  // ChrootDirectory wants every component root-owned and writable by root only: /tmp (1777) fails that.
  const base = join('/run', `purple-harness-sshd-${randomBytes(6).toString('hex')}`);
  const root = join(base, 'root');
  mkdirSync(join(base, 'etc'), { recursive: true, mode: 0o755 });
  mkdirSync(root, { mode: 0o755 });
  chmodSync(base, 0o755);
  const uid = unusedId();
  const password = randomBytes(12).toString('hex');

  // The chroot: the system's /usr (and the merged-/usr symlinks) bind-mounted read-only, /dev, a shell, C:.
  for (const dir of ['bin', 'lib', 'lib64', 'sbin']) {
    if (!existsSync(`/${dir}`)) continue;
    if (lstatSync(`/${dir}`).isSymbolicLink()) symlinkSync(readlinkSync(`/${dir}`), join(root, dir));
    else mkdirSync(join(root, dir));
  }
  for (const dir of ['usr', 'dev', 'ph']) mkdirSync(join(root, dir));
  writeFileSync(join(root, 'ph', 'shell'), loginShell, { mode: 0o755 });
  mkdirSync(join(root, 'C:'));
  chownSync(join(root, 'C:'), uid, uid);

  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(base, 'host_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(base, 'user_key')]);
  cpSync(join(base, 'user_key.pub'), join(base, 'authorized_keys'));
  const printed = (await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(base, 'host_key.pub')]))
    .stdout;
  const hostKeySha256 = /SHA256:\S+/.exec(printed)?.[0];
  if (hostKeySha256 === undefined) throw new Error(`ssh-keygen printed no fingerprint: ${printed}`);
  const hash = (await execa('openssl', ['passwd', '-6', '-stdin'], { input: password })).stdout.trim();

  writeFileSync(
    join(base, 'etc', 'passwd'),
    `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\n${username}:x:${uid}:${uid}:purple-harness test:/:/ph/shell\n`,
  );
  writeFileSync(
    join(base, 'etc', 'shadow'),
    `${readFileSync('/etc/shadow', 'utf8').trimEnd()}\n${username}:${hash}:20000:0:99999:7:::\n`,
    { mode: 0o640 },
  );
  const port = await freePort();
  writeFileSync(
    join(base, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(base, 'host_key')}`,
      'PidFile none',
      'UsePAM no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${join(base, 'authorized_keys')}`,
      'StrictModes no',
      'PermitRootLogin no',
      `AllowUsers ${username}`,
      `ChrootDirectory ${root}`,
      'Subsystem sftp internal-sftp',
      // ava runs a file's tests at once: let every connection through.
      'MaxStartups 200',
      'MaxSessions 50',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );

  const setup = [
    'set -e',
    `for d in usr dev; do mount --bind /$d ${root}/$d; done`,
    `mount -o remount,bind,ro ${root}/usr`,
    `mount --bind ${join(base, 'etc', 'passwd')} /etc/passwd`,
    `mount --bind ${join(base, 'etc', 'shadow')} /etc/shadow`,
    'mkdir -p /run/sshd',
    `exec ${sshdPath} -D -e -f ${join(base, 'sshd_config')}`,
  ].join('\n');
  let output = '';
  const child = execa(
    'unshare',
    ['--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', 'sh', '-c', setup],
    { reject: false, all: true, buffer: false },
  );
  child.all.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });

  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await child;
    rmSync(base, { recursive: true, force: true });
  };
  for (let tries = 0; ; tries += 1) {
    if (await banner(port)) break;
    if (tries > 50 || child.exitCode !== null) {
      await stop();
      throw new Error(`sshd did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    username,
    password,
    privateKey: readFileSync(join(base, 'user_key'), 'utf8'),
    hostKeySha256,
    root,
    log: () => output,
    stop,
  };
}
