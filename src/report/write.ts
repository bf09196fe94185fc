import {
  closeSync,
  openSync,
  statSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { ReportArtifact, RunIndex, RunIndexEntry } from '../core/index.js';
import { HarnessError, RunIndexRecord, errorMessage } from '../core/index.js';
import { sha256 } from '../util/hash.js';
import { redact } from '../util/redact.js';
import { emptyIndex, withRun } from './history.js';
import {
  buildManifest,
  indexPrefixSha256,
  manifestFile,
  signManifest,
  signatureFile,
  type Manifest,
} from './manifest.js';

export interface WriteOptions {
  /** `purple-harness <version>`, recorded in the manifest. */
  readonly harness: string;
  /** Signs manifest.json (Ed25519) when set; the key comes from the environment only. */
  readonly signingKey?: KeyObject | null;
  readonly now?: Date;
  /** The chain link, when the caller already read it (the reports name it): read from `latest` otherwise. */
  readonly previous?: Manifest['previous'];
}

/** Writes one file atomically (temp file, then rename), creating its folder. */
function putFile(dir: string, path: string, content: string): string {
  const file = join(dir, path);
  // Reporters and the evidence bundle write into sub-folders (attire/<host>.json, evidence/...).
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Redacts and writes report artifacts under `dir`; the manifest and signature names are the writer's own. */
function putArtifacts(
  dir: string,
  artifacts: readonly ReportArtifact[],
  secrets: ReadonlySet<string>,
): { files: string[]; written: ReportArtifact[] } {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const written: ReportArtifact[] = [];
  for (const artifact of artifacts) {
    if (artifact.path.includes('..') || artifact.path.startsWith('/'))
      throw new Error(`artifact path escapes the report folder: ${artifact.path}`);
    if (artifact.path === manifestFile || artifact.path === signatureFile)
      throw new Error(`${artifact.path} is written by the report writer only`);
    const content = redact(artifact.content, secrets);
    files.push(putFile(dir, artifact.path, content));
    written.push({ path: artifact.path, content });
  }
  return { files, written };
}

/**
 * Re-rendered reports (`purple-harness report`) go to a folder of their own, never into the run's evidence
 * bundle, whose manifest would then list files the run did not write.
 */
export function writeRendered(
  dir: string,
  artifacts: readonly ReportArtifact[],
  secrets: ReadonlySet<string>,
): string[] {
  try {
    return putArtifacts(resolve(dir), artifacts, secrets).files;
  } catch (error) {
    throw new HarnessError('E_REPORT_WRITE', `cannot write reports to ${dir}: ${errorMessage(error)}`, {
      hint: 'Pass a writable folder with --out.',
      cause: error,
    });
  }
}

/** The run index as this run finds it, hashed into its manifest; null when there is none (or it is unreadable). */
function indexAsFound(root: string): Manifest['index'] {
  if (!existsSync(join(root, indexFile))) return null;
  try {
    const runs = readRunIndex(root).runs;
    return { entries: runs.length, sha256: indexPrefixSha256(runs, runs.length) };
  } catch {
    return null;
  }
}

/** The manifest of the run `latest` points at, as the chain's previous link; null for a first run. */
export function previousLink(reportsDir: string, runId: string): Manifest['previous'] {
  const latest = join(reportsDir, 'latest');
  if (!existsSync(join(latest, manifestFile))) return null;
  const previousRun = basename(realpathSync(latest));
  if (previousRun === runId) return null;
  return { runId: previousRun, sha256: sha256(readFileSync(join(latest, manifestFile))) };
}

/**
 * The only code that writes reports to disk. Content is redacted once more on the way out, so a secret can
 * never reach a report even if a reporter slipped. Then manifest.json hashes every file written, linked to
 * the previous run's manifest, and is signed if a key is given. `latest` is swapped atomically last.
 */
export function writeReports(
  reportsDir: string,
  runId: string,
  artifacts: readonly ReportArtifact[],
  secrets: ReadonlySet<string>,
  options: WriteOptions,
): { dir: string; files: string[]; manifestSha256: string } {
  const root = resolve(reportsDir);
  const dir = resolve(root, runId);
  try {
    const { files, written } = putArtifacts(dir, artifacts, secrets);
    const manifest = buildManifest(
      runId,
      options.harness,
      written,
      options.previous === undefined ? previousLink(root, runId) : options.previous,
      options.now ?? new Date(),
      indexAsFound(root),
    );
    files.push(putFile(dir, manifestFile, manifest));
    if (options.signingKey)
      files.push(putFile(dir, signatureFile, signManifest(manifest, options.signingKey)));
    const link = join(root, 'latest');
    const temp = `${link}.tmp-${process.pid}`;
    rmSync(temp, { force: true });
    symlinkSync(runId, temp, 'dir');
    renameSync(temp, link);
    return { dir, files, manifestSha256: sha256(manifest) };
  } catch (error) {
    throw new HarnessError('E_REPORT_WRITE', `cannot write reports to ${dir}: ${errorMessage(error)}`, {
      hint: 'Check that the reports folder is writable, or pass --reports-dir.',
      cause: error,
    });
  }
}

/**
 * Proves the reports folder takes a file by writing one and removing it: permission bits say nothing for
 * root, a read-only mount or a full disk. Throws E_CONFIG_INVALID (exit 2), for `run` to call before any
 * host is touched and `doctor` to report.
 */
export function checkReportsWritable(reportsDir: string): void {
  const root = resolve(reportsDir);
  const probe = join(root, `.write-check-${String(process.pid)}`);
  try {
    mkdirSync(root, { recursive: true });
    writeFileSync(probe, 'purple-harness write check\n');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new HarnessError(
      'E_CONFIG_INVALID',
      `the reports folder ${root} cannot be written (${errorMessage(error)}), so a run's results could not be kept: nothing was run`,
      {
        hint: 'Make the folder writable, or choose another with --reports-dir or reports.dir in the config.',
        cause: error,
      },
    );
  }
  readRunIndex(root);
}

export const indexFile = 'index.json';
export const dashboardFile = 'index.html';

/** reports/index.json, the run index; empty when there is none yet. */
export function readRunIndex(reportsDir: string): RunIndex {
  const file = join(resolve(reportsDir), indexFile);
  if (!existsSync(file)) return emptyIndex;
  try {
    return RunIndexRecord.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new HarnessError('E_INDEX_INVALID', `${file} is not a purple-harness run index`, {
      hint: 'Move it aside: the next run starts a new index (the run folders themselves are untouched).',
      cause: error,
    });
  }
}

const lockStaleMs = 30_000;
const lockWaitMs = 10_000;

/** Holds reports/index.lock while `work` runs, so two runs finishing together both keep their entry. */
function withIndexLock<T>(root: string, work: () => T): T {
  const lock = join(root, 'index.lock');
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a killed process is taken over once it is clearly stale.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > lockStaleMs) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another run`, { cause: error });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Adds a run to reports/index.json and regenerates the dashboard from the result, under a lock: the index
 * is read again here, so a run that finished meanwhile in the same folder keeps its entry.
 */
export function updateRunIndex(
  reportsDir: string,
  entry: RunIndexEntry,
  dashboard: (index: RunIndex) => string,
): string[] {
  const root = resolve(reportsDir);
  try {
    mkdirSync(root, { recursive: true });
    return withIndexLock(root, () => {
      const index = withRun(readRunIndex(root), entry);
      return [
        putFile(root, indexFile, `${JSON.stringify(index, null, 2)}\n`),
        putFile(root, dashboardFile, dashboard(index)),
      ];
    });
  } catch (error) {
    throw new HarnessError(
      'E_REPORT_WRITE',
      `cannot write the run index in ${root}: ${errorMessage(error)}`,
      {
        hint: 'Check that the reports folder is writable, or pass --reports-dir.',
        cause: error,
      },
    );
  }
}
