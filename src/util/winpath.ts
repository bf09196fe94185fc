/** `C:\a\b` -> `/C:/a/b`, the canonical form Win32-OpenSSH's SFTP server uses (windows-remote.md 1.7). */
export function toSftpPath(windowsPath: string): string {
  const normal = windowsPath.replaceAll('\\', '/');
  if (!/^[A-Za-z]:\//.test(normal)) throw new Error(`not an absolute Windows path: ${windowsPath}`);
  return `/${normal}`;
}

/** `/C:/a/b` or `C:/a/b` -> `C:\a\b`. */
export function fromSftpPath(sftpPath: string): string {
  const trimmed = sftpPath.replace(/^\/(?=[A-Za-z]:)/, '');
  return trimmed.replaceAll('/', '\\');
}

/** The last part of a Windows path: `C:\\Windows\\System32\\cmd.exe` -> `cmd.exe`. */
export function windowsBaseName(path: string): string {
  return path.slice(path.lastIndexOf('\\') + 1);
}
