import { join, sep } from 'node:path';
import { labNotice, type RunResult } from '../core/index.js';
import type { Published } from './commands/publish.js';
import type { Output } from './output.js';

/** Green for what passed, red for what failed, grey for what could not be judged. */
function colourOf(status: string): 'green' | 'red' | 'gray' {
  return status === 'pass' || status === 'passed'
    ? 'green'
    : status === 'fail' || status === 'failed' || status === 'error' || status === 'cleanup-failed'
      ? 'red'
      : 'gray';
}

/** The run as lines for people: each scenario and signal, the report files and any regression. */
export function printRun(result: RunResult, written: Published | null, output: Output): void {
  const notice = labNotice(result);
  if (notice !== null) output.out(notice);
  for (const scenario of result.results) {
    output.out(
      `${output.paint(scenario.status.toUpperCase().padEnd(12), colourOf(scenario.status))} ${scenario.scenario.id} on ${scenario.host.name}`,
    );
    if (scenario.error) output.out(`  error        ${scenario.error.code}: ${scenario.error.message}`);
    for (const signal of scenario.signals)
      output.out(
        `  ${output.paint(signal.verdict.padEnd(12), colourOf(signal.verdict))} ${signal.id}: ${signal.reason}`,
      );
  }
  for (const pair of result.notRun)
    output.out(
      `${output.paint('NOT RUN'.padEnd(12), 'yellow')} ${pair.scenario} on ${pair.host}: ${pair.reason}`,
    );
  if (result.results.length === 0 && result.notRun.length === 0)
    output.out(
      'nothing was planned: no scenario x host pair in this run (check the scenarios, --host and --shard)',
    );
  output.out(
    `run ${result.runId}: ${result.status} (${result.summary.pass} pass, ${result.summary.fail} fail, ${result.summary.late} late, ${result.summary.inconclusive} inconclusive)`,
  );
  if (written !== null) {
    const evidenceFiles = written.files.filter((f) => f.includes(`${sep}evidence${sep}`));
    for (const file of written.files) if (!evidenceFiles.includes(file)) output.out(`report: ${file}`);
    for (const file of written.indexFiles) output.out(`history: ${file}`);
    output.out(
      `evidence: ${String(evidenceFiles.length)} files under ${join(written.dir, 'evidence')}, hashed in manifest.json (check with: purple-harness verify ${written.dir})`,
    );
  } else output.out('report: none written (see the error above)');
  for (const r of result.regressions)
    output.out(
      `REGRESSION   ${r.signal} in ${r.scenario} on ${r.host}: passed in run ${r.previousRunId}, fails now${tuningChange(r.tuningChanged)}`,
    );
  for (const s of result.suggestions.offered)
    output.out(
      `SUGGESTED    ${s.signal} in ${s.scenario} on ${s.host}: a rule proven on this run's events, fires on ${String(s.proof.firesOn.length)} of ${String(s.proof.captured)} captured, quiet on the negative control (${s.rule.files[0] ?? ''})`,
    );
  for (const s of result.suggestions.withheld)
    output.out(`NO RULE      ${s.signal} in ${s.scenario} on ${s.host}: ${s.reason}`);
}

/** ", and the tuning changed since: default then, custom, sha256 … now", or nothing when it did not change. */
function tuningChange(changed: RunResult['regressions'][number]['tuningChanged']): string {
  if (changed === null) return '';
  return `; the tuning changed since: ${changed.before ?? 'not recorded'} then, ${changed.now ?? 'not ours'} now`;
}
