import { randomUUID } from 'node:crypto';

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

/** A small virtual C: drive. */
export class VirtualDrive {
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

  spawn(
    init: Omit<WindowsProcess, 'pid' | 'guid' | 'running' | 'started'> & { started?: Date },
  ): WindowsProcess {
    this.#nextPid += 4 + Math.floor(Math.random() * 60) * 4;
    const process: WindowsProcess = {
      ...init,
      pid: this.#nextPid,
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
