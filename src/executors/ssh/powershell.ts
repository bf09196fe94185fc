/**
 * PowerShell over Win32-OpenSSH. Scripts travel as -EncodedCommand (base64 of UTF-16LE): base64 has no
 * character that cmd.exe or PowerShell treat specially, so one string works under either default shell.
 */
export const cmdLineLimit = 8191;
/** sshd's wrapper around our string: the quoted cmd path, /c, and quotes (windows-remote.md 1.3). */
const wrapperOverhead = 40;

export function encodeCommand(script: string): string {
  const encoded = Buffer.from(script, 'utf16le').toString('base64');
  return `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${encoded}`;
}

/** Where over-long scripts are uploaded (and removed after); administrators only, like the run folders. */
export const scriptsDir = 'C:\\ProgramData\\purple-harness\\ops';

/** Runs an uploaded script; quoted, as the path may one day hold a space. */
export function fileCommand(path: string): string {
  return `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "${path}"`;
}

export function fitsCmdLine(command: string): boolean {
  return command.length + wrapperOverhead <= cmdLineLimit;
}

const framePrefix = 'PHRESULT:';

/** The operation's one framed line: `PHRESULT:` + base64 of UTF-8 JSON. Anything else on stdout is noise. */
export function parseFrame(stdout: string): unknown {
  const line = stdout
    .split(/\r?\n/)
    .reverse()
    .find((l) => l.startsWith(framePrefix));
  if (line === undefined) return null;
  try {
    return JSON.parse(
      Buffer.from(line.slice(framePrefix.length).trim(), 'base64').toString('utf8'),
    ) as unknown;
  } catch {
    return null;
  }
}

/** Windows PowerShell writes errors and progress to stderr as CLIXML; keep the readable text. */
export function readableStderr(stderr: string): string {
  if (!stderr.startsWith('#< CLIXML')) return stderr.trim();
  const texts = [...stderr.matchAll(/<S S="[^"]*">([\s\S]*?)<\/S>/g)].map((m) => m[1] ?? '');
  return texts
    .join('')
    .replace(/_x000D__x000A_/g, '\n')
    .replace(/_x([0-9A-F]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .trim();
}
