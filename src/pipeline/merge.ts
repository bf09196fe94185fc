import type { RunIndexEntry, RunResult, ScenarioResult } from '../core/index.js';
import { HarnessError } from '../core/index.js';
import { assembleRun } from './assemble.js';
import { keyOf } from './plan.js';

/**
 * One run from several (the shards of a CI matrix): every scenario x host result once, verdicts untouched,
 * summary, status and control assessment recomputed over the whole, and regressions judged against the
 * history of the folder the merged run goes to. Refuses parts that do not belong together. Pure.
 */
export function mergeRuns(
  parts: readonly RunResult[],
  merged: { readonly runId: string; readonly version: string; readonly history: readonly RunIndexEntry[] },
): RunResult {
  const [first] = parts;
  if (first === undefined) throw new HarnessError('E_USAGE', 'report merge needs at least one run folder');
  for (const part of parts) {
    if (part.lab !== first.lab || part.siem.id !== first.siem.id)
      throw new HarnessError(
        'E_USAGE',
        `run ${part.runId} ran on a ${part.lab} lab against ${part.siem.id}, run ${first.runId} on a ${first.lab} lab against ${first.siem.id}: they are not shards of one run`,
      );
  }
  const shards = parts.map((p) => p.shard);
  if (shards.every((s) => s !== null)) {
    const count = shards[0]?.count ?? 0;
    const seen = new Set(shards.map((s) => s.index));
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
    if (shards.some((s) => s.count !== count) || seen.size !== shards.length || missing.length > 0)
      throw new HarnessError(
        'E_USAGE',
        `the shards do not make one whole plan (${shards.map((s) => `${String(s.index)}/${String(s.count)}`).join(', ')}${missing.length > 0 ? `; missing ${missing.map((i) => `${String(i)}/${String(count)}`).join(', ')}` : ''})`,
        { hint: 'Merge the run folders of every job of the matrix, each once.' },
      );
  }
  const owner = new Map<string, string>();
  const results: ScenarioResult[] = [];
  for (const part of parts) {
    for (const result of part.results) {
      const key = keyOf(result.scenario.id, result.host.name);
      const other = owner.get(key);
      if (other !== undefined)
        throw new HarnessError(
          'E_USAGE',
          `${result.scenario.id} on ${result.host.name} is in both run ${other} and run ${part.runId}`,
          { hint: 'Shards never overlap; merge each job of the matrix once.' },
        );
      owner.set(key, part.runId);
      results.push(result);
    }
  }
  results.sort((a, b) => {
    const x = keyOf(a.scenario.id, a.host.name);
    const y = keyOf(b.scenario.id, b.host.name);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const definitions = first.controls.map(
    ({ status: _status, evidence: _evidence, missing: _missing, ...definition }) => definition,
  );
  const notRun = parts.flatMap((p) =>
    p.notRun.map((pair) => ({ ...pair, reason: `${pair.reason} (shard run ${p.runId})` })),
  );
  return assembleRun({
    runId: merged.runId,
    version: merged.version,
    startedAt: parts.map((p) => p.startedAt).sort()[0] ?? first.startedAt,
    finishedAt:
      parts
        .map((p) => p.finishedAt)
        .sort()
        .at(-1) ?? first.finishedAt,
    lab: first.lab,
    siem: first.siem,
    shard: null,
    mergedFrom: parts.map((p) => p.runId),
    results,
    notRun,
    controls: definitions,
    history: merged.history,
    // A shard that crashed, was interrupted or left pairs unrun makes the merged run say so: never PASSED.
    interrupted: parts.some((p) => p.status === 'interrupted'),
    crashed: parts.some((p) => p.status === 'error'),
    timeWindowMs: first.timeWindowMs,
    // Each shard's suggestions were proven on that shard's own events and negative controls.
    suggestions: {
      offered: parts.flatMap((p) => p.suggestions.offered),
      withheld: parts.flatMap((p) => p.suggestions.withheld),
    },
  });
}
