import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ReportArtifact } from '../core/index.js';
import { HarnessError, errorMessage } from '../core/index.js';
import { redact } from '../util/redact.js';

/**
 * The only code that writes reports to disk. Content is redacted once more on the way out, so a secret can
 * never reach a report even if a reporter slipped. `latest` is swapped atomically to the newest run.
 */
export function writeReports(
  reportsDir: string,
  runId: string,
  artifacts: readonly ReportArtifact[],
  secrets: ReadonlySet<string>,
): { dir: string; files: string[] } {
  const dir = resolve(reportsDir, runId);
  try {
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const artifact of artifacts) {
      if (artifact.path.includes('..') || artifact.path.startsWith('/'))
        throw new Error(`artifact path escapes the report folder: ${artifact.path}`);
      const file = join(dir, artifact.path);
      // Reporters may write into sub-folders (attire/<host>.json).
      mkdirSync(dirname(file), { recursive: true });
      const temp = `${file}.tmp`;
      writeFileSync(temp, redact(artifact.content, secrets));
      renameSync(temp, file);
      files.push(file);
    }
    const link = join(resolve(reportsDir), 'latest');
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
