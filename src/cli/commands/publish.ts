import type { KeyObject } from 'node:crypto';
import type { ReportArtifact, RunIndex, RunResult } from '../../core/index.js';
import { renderDashboard } from '../../report/dashboard.js';
import { indexEntry, withRun } from '../../report/history.js';
import { writeReports, writeRunIndex } from '../../report/write.js';
import { reporters, type ReporterId } from '../../reporters/registry.js';

export interface Published {
  readonly dir: string;
  readonly files: string[];
  readonly manifestSha256: string;
  readonly indexFiles: string[];
}

/**
 * A finished (or partial, or merged) run's way to disk: every report format and the evidence bundle through
 * the one writer (manifest, chain, signature), then the run index and the dashboard.
 */
export function publishRun(
  run: RunResult,
  options: {
    readonly reportsDir: string;
    readonly formats: readonly ReporterId[];
    readonly evidence: readonly ReportArtifact[];
    readonly secrets: ReadonlySet<string>;
    readonly signingKey: KeyObject | null;
    readonly history: RunIndex;
  },
): Published {
  const reports = options.formats.flatMap((format) => reporters[format].create({}).render(run));
  const written = writeReports(
    options.reportsDir,
    run.runId,
    [...reports, ...options.evidence],
    options.secrets,
    {
      harness: `purple-harness ${run.harness.version}`,
      signingKey: options.signingKey,
    },
  );
  const index = withRun(
    options.history,
    indexEntry(run, {
      manifestSha256: written.manifestSha256,
      report: options.formats.includes('html') ? `${run.runId}/report.html` : null,
    }),
  );
  return { ...written, indexFiles: writeRunIndex(options.reportsDir, index, renderDashboard(index)) };
}
