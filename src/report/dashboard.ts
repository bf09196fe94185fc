import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunIndex, RunIndexEntry } from '../core/index.js';
import { formatMs, mean, signalIds } from '../core/index.js';
import { templatesDir } from '../util/paths.js';
import { lineChart } from './svg-chart.js';

/** `11-24 00:29`: short enough for an axis label. */
const shortTime = (iso: string): string => iso.slice(5, 16).replace('T', ' ');

function charts(runs: readonly RunIndexEntry[]): { passRate: string; latency: string } {
  const labels = runs.map((r) => shortTime(r.startedAt));
  const present = signalIds.filter((id) => runs.some((r) => r.signals.some((s) => s.signal === id)));
  const per = (pick: (run: RunIndexEntry, id: string) => number | null) =>
    present.map((id) => ({ name: id, values: runs.map((run) => pick(run, id)) }));
  const passRate = per((run, id) => {
    const judged = run.signals.filter((s) => s.signal === id && s.verdict !== 'inconclusive');
    return judged.length === 0
      ? null
      : (100 * judged.filter((s) => s.verdict === 'pass').length) / judged.length;
  });
  const latency = per((run, id) =>
    mean(run.signals.filter((s) => s.signal === id).map((s) => s.detectionLatencyMs)),
  );
  const maxLatency = Math.max(
    1000,
    ...latency.flatMap((s) => s.values.filter((v): v is number => v !== null)),
  );
  return {
    passRate: lineChart({
      title: 'Pass rate per signal (judged scenario x host pairs)',
      labels,
      series: passRate,
      yMax: 100,
      format: (v) => `${String(Math.round(v))} %`,
    }),
    latency: lineChart({
      title: 'Mean detection latency per signal (launch to alert)',
      labels,
      series: latency,
      yMax: maxLatency * 1.1,
      format: (v) => formatMs(Math.round(v)),
    }),
  };
}

let template: HandlebarsTemplateDelegate | null = null;

/**
 * reports/index.html: every run (newest first) linked to its report, the latest run's regressions, and per
 * signal the pass rate and detection latency over time as inline SVG charts. Self-contained; pure.
 */
/** The latest run in one sentence, worded as what it observed. */
function latestFindings(run: RunIndexEntry): string {
  const { signals, pass, fail, inconclusive } = run.summary;
  const demo = run.lab === 'real' ? '' : ' (simulated hosts: a demonstration, not evidence of your coverage)';
  const regressions =
    run.regressions.length === 0
      ? ''
      : `; ${String(run.regressions.length)} regression(s): passed before, fail now`;
  return `Findings: the latest run, ${run.runId}, ${run.status}${demo}: ${String(pass)} of ${String(signals)} expected signal(s) passed, ${String(fail)} failed, ${String(inconclusive)} could not be judged${regressions}.`;
}

export function renderDashboard(index: RunIndex): string {
  if (template === null) {
    const engine = Handlebars.create();
    engine.registerHelper('upper', (value: unknown) => String(value).toUpperCase());
    template = engine.compile(readFileSync(join(templatesDir(), 'report', 'dashboard.html.hbs'), 'utf8'));
  }
  const runs = [...index.runs];
  const latest = runs.at(-1) ?? null;
  const { passRate, latency } = charts(runs);
  return template({
    latest,
    findings: latest === null ? 'Findings: no run yet.' : latestFindings(latest),
    count: runs.length,
    simulated: runs.some((r) => r.lab !== 'real'),
    regressions: latest?.regressions ?? [],
    runs: runs
      .slice()
      .reverse()
      .map((r) => ({
        ...r,
        mttd: formatMs(r.summary.mttdMs),
        link: r.report ?? `${r.runId}/run.json`,
        manifestShort: r.manifestSha256?.slice(0, 12) ?? 'none',
      })),
    // Our own SVG from numbers and escaped names: inserted as markup (triple-stash) on purpose.
    passRateChart: passRate,
    latencyChart: latency,
  });
}
