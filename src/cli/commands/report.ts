import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HarnessError, RunRecord, type Publication, type RunResult } from '../../core/index.js';
import { Manifest, Signature, manifestFile, signatureFile } from '../../report/manifest.js';
import { writeRendered } from '../../report/write.js';
import { loadReporters, reportFormats } from '../../reporters/registry.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { onePath } from '../args.js';
import { oneOf } from '../../util/did-you-mean.js';

/**
 * What the run folder's own manifest says of its filing (the chain link, the signer), so re-rendered reports
 * state the same; undefined when the folder has no readable manifest.
 */
function publicationOf(runDir: string): Publication | undefined {
  try {
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(runDir, manifestFile), 'utf8')));
    const signed = join(runDir, signatureFile);
    return {
      previous: manifest.previous,
      signingKeyId: existsSync(signed)
        ? Signature.parse(JSON.parse(readFileSync(signed, 'utf8'))).keyId
        : null,
    };
  } catch {
    return undefined;
  }
}

/** run.json, read strictly: a file this version did not write (or one edited by hand) is named, exit 2. */
export function readRunJson(runDir: string): RunResult {
  const file = join(resolve(runDir), 'run.json');
  if (!existsSync(file))
    throw new HarnessError('E_USAGE', `${file}: no run.json here`, {
      hint: 'Pass a run folder under your reports folder, such as reports/latest.',
    });
  const parsed = RunRecord.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HarnessError(
      'E_USAGE',
      `${file}: not a run.json of this version (${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'})`,
      {
        hint: 'Re-render with the purple-harness version that wrote it; schema/run.schema.json describes the format.',
      },
    );
  }
  return parsed.data;
}

/**
 * `report <run-dir> --format F`: renders reports again from run.json alone, into a folder of their own
 * (default ./rerendered-<run-id>), so the run's evidence bundle stays exactly as the run wrote it.
 */
export async function reportCommand(
  paths: readonly string[],
  options: { readonly formats: readonly string[]; readonly out: string | undefined },
  output: Output,
): Promise<ExitCode> {
  const runDir = onePath(paths, 'report', 'purple-harness report reports/latest --format html');
  const formats =
    options.formats.length === 0
      ? reportFormats
      : options.formats.map((format) => oneOf('--format', format, reportFormats));
  const run = readRunJson(runDir);
  const publication = publicationOf(runDir);
  const artifacts = (await loadReporters(formats)).render(run, publication);
  const files = writeRendered(options.out ?? `rerendered-${run.runId}`, artifacts, new Set());
  for (const file of files) output.out(`report: ${file}`);
  return exitCodes.passed;
}
