import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEnv } from '../../config/load.js';
import { loadReporters, reportFormats } from '../../reporters/registry.js';
import { signingKeyFrom } from '../../config/signing-key.js';
import { HarnessError, labNotice, newRunId, type ReportArtifact } from '../../core/index.js';
import { mergeRuns } from '../../pipeline/merge.js';
import { manifestFile, signatureFile } from '../../report/manifest.js';
import { verifyBundle } from '../../report/verify.js';
import { readRunIndex } from '../../report/write.js';
import { exitCodeForRun, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { notifyRun, notifySettings, publishRun } from './publish.js';
import type { HarnessConfig } from '../../config/schema.js';
import { readRunJson } from './report.js';

/**
 * `report merge <run-dir>...`: the shards of one run (a CI matrix, a Kubernetes Indexed Job) become one run
 * in the reports folder: one report in every format and one evidence bundle holding each shard's evidence
 * and each shard's own manifest (a manifest of manifests). Every shard's bundle is verified first; a
 * tampered shard is refused.
 */
export async function mergeCommand(
  dirs: readonly string[],
  options: {
    readonly reportsDir: string;
    readonly version: string;
    readonly secrets: Set<string>;
    readonly config: HarnessConfig;
  },
  output: Output,
): Promise<ExitCode> {
  if (dirs.length === 0)
    throw new HarnessError('E_USAGE', 'report merge needs the run folders to merge', {
      hint: 'purple-harness report merge shard-1/reports/latest shard-2/reports/latest --reports-dir reports',
    });
  const evidence: ReportArtifact[] = [];
  const parts = dirs.map((dir) => {
    const checked = verifyBundle(dir, { chain: false });
    if (!checked.ok)
      throw new HarnessError(
        'E_USAGE',
        `${dir}: the evidence bundle does not verify: ${checked.problems.join('; ')}`,
        {
          hint: 'Merge only bundles exactly as their runs wrote them (purple-harness verify <dir> shows what changed).',
        },
      );
    const run = readRunJson(dir);
    for (const entry of run.results.flatMap((r) => r.evidence))
      evidence.push({ path: entry.path, content: readFileSync(join(dir, entry.path), 'utf8') });
    // Each shard's manifest (and signature) travels with the merged bundle, hashed in its manifest.
    for (const name of [manifestFile, signatureFile]) {
      const file = join(dir, name);
      if (existsSync(file))
        evidence.push({ path: `parts/${run.runId}/${name}`, content: readFileSync(file, 'utf8') });
    }
    return run;
  });
  const reportsDir = resolve(options.reportsDir);
  const history = readRunIndex(reportsDir);
  const merged = mergeRuns(parts, {
    runId: newRunId(new Date()),
    version: options.version,
    history: history.runs,
  });
  const env = loadEnv(process.cwd(), process.env);
  const notify = notifySettings(options.config, env, options.secrets);
  const published = publishRun(merged, {
    reportsDir,
    reporters: await loadReporters(reportFormats),
    evidence,
    secrets: options.secrets,
    signingKey: signingKeyFrom(env, options.secrets),
  });
  const notice = labNotice(merged);
  if (notice !== null) output.out(notice);
  for (const pair of merged.notRun)
    output.out(`NOT RUN      ${pair.scenario} on ${pair.host}: ${pair.reason}`);
  output.out(
    `merged ${String(parts.length)} run(s) (${merged.mergedFrom?.join(', ') ?? ''}) into run ${merged.runId}: ${merged.status} (${String(merged.summary.pass)} pass, ${String(merged.summary.fail)} fail, ${String(merged.summary.inconclusive)} inconclusive)`,
  );
  output.out(`report: ${published.dir}`);
  for (const r of merged.regressions)
    output.out(
      `REGRESSION   ${r.signal} in ${r.scenario} on ${r.host}: passed in run ${r.previousRunId}, fails now`,
    );
  await notifyRun(merged, notify, published.dir, output);
  return exitCodeForRun(merged.status, merged.regressions.length);
}
