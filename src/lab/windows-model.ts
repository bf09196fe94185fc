import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Windows paths compare case-insensitively; the model keys everything by the lower-cased path. */
function key(path: string): string {
  return path.replaceAll('/', '\\').replace(/\\+$/, '').toLowerCase();
}

export function parentDir(path: string): string {
  const normal = path.replaceAll('/', '\\').replace(/\\+$/, '');
  const cut = normal.lastIndexOf('\\');
  return cut <= 2 ? normal.slice(0, 3) : normal.slice(0, cut);
}

export interface FileEntry {
  readonly path: string;
  readonly dir: boolean;
  content: Buffer;
  created: Date;
}

/** The host's C: drive, as the model reads and writes it. */
export interface Drive {
  get(path: string): FileEntry | undefined;
  exists(path: string): boolean;
  isDir(path: string): boolean;
  mkdir(path: string): void;
  mkdirp(path: string): void;
  writeFile(path: string, content: Buffer): void;
  remove(path: string): void;
  removeTree(path: string): string[];
  list(dir: string): FileEntry[];
}

/** A small virtual C: drive, in memory. */
export class VirtualDrive implements Drive {
  readonly #entries = new Map<string, FileEntry>();

  constructor(dirs: readonly string[]) {
    for (const dir of dirs) this.mkdirp(dir);
  }

  get(path: string): FileEntry | undefined {
    return this.#entries.get(key(path));
  }

  exists(path: string): boolean {
    return /^[A-Za-z]:\\?$/.test(path) || this.#entries.has(key(path));
  }

  isDir(path: string): boolean {
    return /^[A-Za-z]:\\?$/.test(path) || this.get(path)?.dir === true;
  }

  mkdir(path: string): void {
    this.#entries.set(key(path), { path, dir: true, content: Buffer.alloc(0), created: new Date() });
  }

  mkdirp(path: string): void {
    const parts = path.replaceAll('/', '\\').split('\\').filter(Boolean);
    let current = parts.shift() ?? 'C:';
    for (const part of parts) {
      current = `${current}\\${part}`;
      if (!this.exists(current)) this.mkdir(current);
    }
  }

  writeFile(path: string, content: Buffer): void {
    this.#entries.set(key(path), { path, dir: false, content, created: new Date() });
  }

  remove(path: string): void {
    this.#entries.delete(key(path));
  }

  /** Removes a folder and everything under it; returns the paths removed. */
  removeTree(path: string): string[] {
    const prefix = `${key(path)}\\`;
    const removed: string[] = [];
    for (const [k, entry] of this.#entries) {
      if (k === key(path) || k.startsWith(prefix)) {
        this.#entries.delete(k);
        removed.push(entry.path);
      }
    }
    return removed;
  }

  list(dir: string): FileEntry[] {
    const prefix = /^[A-Za-z]:\\?$/.test(dir) ? `${dir.slice(0, 2).toLowerCase()}\\` : `${key(dir)}\\`;
    return [...this.#entries.entries()]
      .filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('\\'))
      .map(([, entry]) => entry);
  }
}

/**
 * The C: drive as a real folder (`<root>/Windows/System32/...`), for the script-executing lab target: the
 * remote scripts' own cmdlets and the model then see the same files. Windows compares names without case,
 * so each path segment is matched case-insensitively against what is already on disk.
 */
export class DiskDrive implements Drive {
  readonly root: string;

  constructor(root: string, dirs: readonly string[]) {
    this.root = root;
    mkdirSync(root, { recursive: true });
    for (const dir of dirs) this.mkdirp(dir);
  }

  /** The Linux path of a `C:\...` path, following existing names whatever their case. */
  local(path: string): string {
    const segments = path
      .replaceAll('/', '\\')
      .replace(/^[A-Za-z]:/, '')
      .split('\\')
      .filter(Boolean);
    let current = this.root;
    for (const segment of segments) {
      const exact = join(current, segment);
      if (existsSync(exact)) {
        current = exact;
        continue;
      }
      const lower = segment.toLowerCase();
      const found = existsSync(current)
        ? readdirSync(current).find((name) => name.toLowerCase() === lower)
        : undefined;
      current = join(current, found ?? segment);
    }
    return current;
  }

  /** The `C:\...` form of a Linux path under the root (what a script's `.FullName` gives here). */
  windows(localPath: string): string | null {
    if (localPath !== this.root && !localPath.startsWith(`${this.root}/`)) return null;
    return `C:\\${localPath.slice(this.root.length + 1).replaceAll('/', '\\')}`;
  }

  get(path: string): FileEntry | undefined {
    const local = this.local(path);
    if (!existsSync(local)) return undefined;
    const stats = statSync(local);
    const dir = stats.isDirectory();
    return { path, dir, content: dir ? Buffer.alloc(0) : readFileSync(local), created: stats.birthtime };
  }

  exists(path: string): boolean {
    return existsSync(this.local(path));
  }

  isDir(path: string): boolean {
    const local = this.local(path);
    return existsSync(local) && statSync(local).isDirectory();
  }

  mkdir(path: string): void {
    mkdirSync(this.local(path));
  }

  mkdirp(path: string): void {
    mkdirSync(this.local(path), { recursive: true });
  }

  writeFile(path: string, content: Buffer): void {
    writeFileSync(this.local(path), content);
  }

  remove(path: string): void {
    const local = this.local(path);
    if (existsSync(local)) unlinkSync(local);
  }

  removeTree(path: string): string[] {
    const local = this.local(path);
    if (!existsSync(local)) return [];
    const removed = [path];
    if (statSync(local).isDirectory())
      for (const entry of readdirSync(local, { recursive: true }))
        removed.push(`${path}\\${String(entry).replaceAll('/', '\\')}`);
    rmSync(local, { recursive: true, force: true });
    return removed;
  }

  list(dir: string): FileEntry[] {
    const local = this.local(dir);
    if (!existsSync(local) || !statSync(local).isDirectory()) return [];
    const base = dir.replace(/\\+$/, '');
    return readdirSync(local).flatMap((name) => this.get(`${base}\\${name}`) ?? []);
  }
}

export interface WindowsProcess {
  readonly pid: number;
  readonly guid: string;
  readonly image: string;
  readonly commandLine: string;
  readonly parent: WindowsProcess | null;
  readonly user: string;
  readonly integrityLevel: 'Medium' | 'High' | 'System';
  readonly currentDirectory: string;
  readonly started: Date;
  running: boolean;
}

/** Sysmon ProcessGuid style: braces, upper-case hex. */
export function newGuid(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

export class ProcessTable {
  readonly #processes = new Map<number, WindowsProcess>();
  #nextPid = 4000;

  /** `pid`: a real process's own id (the script-executing target's PowerShell and leaf programs). */
  spawn(
    init: Omit<WindowsProcess, 'pid' | 'guid' | 'running' | 'started'> & { started?: Date; pid?: number },
  ): WindowsProcess {
    let pid = init.pid;
    while (pid === undefined || (init.pid === undefined && this.#processes.has(pid))) {
      this.#nextPid += 4 + Math.floor(Math.random() * 60) * 4;
      pid = this.#nextPid;
    }
    const process: WindowsProcess = {
      ...init,
      pid,
      guid: newGuid(),
      running: true,
      started: init.started ?? new Date(),
    };
    this.#processes.set(process.pid, process);
    return process;
  }

  exit(process: WindowsProcess): void {
    process.running = false;
    this.#processes.delete(process.pid);
  }

  byPid(pid: number): WindowsProcess | undefined {
    return this.#processes.get(pid);
  }

  running(): WindowsProcess[] {
    return [...this.#processes.values()];
  }

  /** Long-lived system processes the model starts with. */
  system(image: string, commandLine: string): WindowsProcess {
    return this.spawn({
      image,
      commandLine,
      parent: null,
      user: 'NT AUTHORITY\\SYSTEM',
      integrityLevel: 'System',
      currentDirectory: 'C:\\Windows\\system32\\',
    });
  }
}

/** Registry keys in PowerShell's form (`HKLM:\SOFTWARE\...`, `HKCU:\Software\...`); names compare case-insensitively. */
export class Registry {
  readonly #keys = new Map<string, { path: string; values: Map<string, { name: string; data: string }> }>();

  exists(path: string): boolean {
    return this.#keys.has(path.toLowerCase());
  }

  /** Creates the key if needed; true when it did not exist before. */
  createKey(path: string): boolean {
    if (this.exists(path)) return false;
    this.#keys.set(path.toLowerCase(), { path, values: new Map() });
    return true;
  }

  setValue(path: string, name: string, data: string): void {
    this.createKey(path);
    this.#keys.get(path.toLowerCase())?.values.set(name.toLowerCase(), { name, data });
  }

  values(path: string): { name: string; data: string }[] {
    return [...(this.#keys.get(path.toLowerCase())?.values.values() ?? [])];
  }

  removeValue(path: string, name: string): boolean {
    return this.#keys.get(path.toLowerCase())?.values.delete(name.toLowerCase()) ?? false;
  }

  removeKey(path: string): void {
    this.#keys.delete(path.toLowerCase());
  }
}
