import {
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
import type { ReportArtifact } from '../core/index.js';
import { HarnessError, errorMessage } from '../core/index.js';
import { sha256 } from '../util/hash.js';
import { redact } from '../util/redact.js';
import { buildManifest, manifestFile, signManifest, signatureFile, type Manifest } from './manifest.js';

export interface WriteOptions {
  /** `purple-harness <version>`, recorded in the manifest. */
  readonly harness: string;
  /** Signs manifest.json (Ed25519) when set; the key comes from the environment only. */
  readonly signingKey?: KeyObject | null;
  readonly now?: Date;
}

/** The manifest of the run `latest` points at, as the chain's previous link; null for a first run. */
function previousLink(reportsDir: string, runId: string): Manifest['previous'] {
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
): { dir: string; files: string[] } {
  const root = resolve(reportsDir);
  const dir = resolve(root, runId);
  try {
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    const written: ReportArtifact[] = [];
    const put = (path: string, content: string): void => {
      const file = join(dir, path);
      // Reporters and the evidence bundle write into sub-folders (attire/<host>.json, evidence/...).
      mkdirSync(dirname(file), { recursive: true });
      const temp = `${file}.tmp`;
      writeFileSync(temp, content);
      renameSync(temp, file);
      files.push(file);
    };
    for (const artifact of artifacts) {
      if (artifact.path.includes('..') || artifact.path.startsWith('/'))
        throw new Error(`artifact path escapes the report folder: ${artifact.path}`);
      if (artifact.path === manifestFile || artifact.path === signatureFile)
        throw new Error(`${artifact.path} is written by the report writer only`);
      const content = redact(artifact.content, secrets);
      put(artifact.path, content);
      written.push({ path: artifact.path, content });
    }
    const manifest = buildManifest(
      runId,
      options.harness,
      written,
      previousLink(root, runId),
      options.now ?? new Date(),
    );
    put(manifestFile, manifest);
    if (options.signingKey) put(signatureFile, signManifest(manifest, options.signingKey));
    const link = join(root, 'latest');
    const temp = `${link}.tmp-${process.pid}`;
    rmSync(temp, { force: true });
    symlinkSync(runId, temp, 'dir');
    renameSync(temp, link);
    return { dir, files };
  } catch (error) {
    throw new HarnessError('E_REPORT_WRITE', `cannot write reports to ${dir}: ${errorMessage(error)}`, {
      hint: 'Check that the reports folder is writable, or pass --reports-dir.',
      cause: error,
    });
  }
}
