import { formatMs, mean } from '../../core/index.js';
import { historyRows, type HistoryRow } from '../../report/history.js';
import { readRunIndex } from '../../report/write.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

const mark = { pass: 'P', fail: 'F', inconclusive: '?' } as const;

/** `first → last (mean)` of the known values, or n/a. */
function trend(values: readonly (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null);
  const first = known[0];
  const last = known.at(-1);
  if (first === undefined || last === undefined) return 'n/a';
  return `${formatMs(first)} → ${formatMs(last)} (mean ${formatMs(Math.round(mean(known) ?? 0))})`;
}

function line(row: HistoryRow, last: number): string {
  const runs = row.runs.slice(-last);
  const marks = runs.map((r) => `${mark[r.verdict]}${r.late ? 'L' : ''}`).join(' ');
  const rate = row.passRate === null ? 'n/a' : `${String(Math.round(row.passRate * 100))} %`;
  return `  ${row.signal.padEnd(17)} ${String(row.runs.length).padStart(4)}  ${rate.padStart(6)}  ${marks.padEnd(last * 2)}  alert ${trend(runs.map((r) => r.detectionLatencyMs))}; telemetry ${trend(runs.map((r) => r.latencyMs))}`;
}

/**
 * `history`: each scenario x host x signal over the runs in the index, oldest to newest (P pass, F fail,
 * ? inconclusive, L late), its pass rate over judged runs, and the latency trend.
 */
export function historyCommand(
  options: {
    readonly reportsDir: string;
    readonly scenario: string | undefined;
    readonly signal: string | undefined;
    readonly json: boolean;
    readonly last: number;
  },
  output: Output,
): ExitCode {
  const index = readRunIndex(options.reportsDir);
  const rows = historyRows(index).filter(
    (r) =>
      (options.scenario === undefined || r.scenario === options.scenario) &&
      (options.signal === undefined || r.signal === options.signal),
  );
  if (options.json) {
    output.out(JSON.stringify({ runs: index.runs.length, rows }, null, 2));
    return exitCodes.passed;
  }
  if (index.runs.length === 0) {
    output.out(`no runs recorded in ${options.reportsDir}/index.json yet`);
    return exitCodes.passed;
  }
  output.out(
    `${String(index.runs.length)} run(s) from ${index.runs[0]?.startedAt ?? '?'} to ${index.runs.at(-1)?.startedAt ?? '?'}; last ${String(options.last)} shown oldest → newest (P pass, F fail, ? inconclusive, L late)`,
  );
  output.out(`  ${'signal'.padEnd(17)} ${'runs'.padStart(4)}  ${'pass'.padStart(6)}  verdicts`);
  let pair = '';
  for (const row of rows) {
    const name = `${row.scenario} on ${row.host}`;
    if (name !== pair) output.out(name);
    pair = name;
    output.out(line(row, options.last));
  }
  const regressions = (index.runs.at(-1)?.regressions ?? []).filter(
    (r) =>
      (options.scenario === undefined || r.scenario === options.scenario) &&
      (options.signal === undefined || r.signal === options.signal),
  );
  for (const r of regressions)
    output.out(
      `REGRESSION in the latest run: ${r.signal} in ${r.scenario} on ${r.host} (passed in ${r.previousRunId})`,
    );
  return exitCodes.passed;
}
