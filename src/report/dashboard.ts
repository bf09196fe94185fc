import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunIndex, RunIndexEntry } from '../core/index.js';
import { formatMs, mean, signalIds } from '../core/index.js';
import { templatesDir } from '../util/paths.js';
import { lineChart } from './svg-chart.js';

/** `11-24 00:29`: short enough for an axis label. */
const shortTime = (iso: string): string => iso.slice(5, 16).replace('T', ' ');

/** Runs that can be compared: the same scenario x host pairs, on the same kind of lab and SIEM. */
export interface RunSet {
  /** `A`, `B`, … in order of first appearance, so a set keeps its letter as history grows. */
  readonly name: string;
  readonly scenarios: readonly string[];
  readonly hosts: readonly string[];
  readonly lab: RunIndexEntry['lab'];
  readonly siem: string;
  /** Oldest first. */
  readonly runs: readonly RunIndexEntry[];
}

const distinct = (values: readonly string[]): string[] => [...new Set(values)].sort();

function setKey(run: RunIndexEntry): string {
  const pairs = distinct(run.signals.map((s) => `${s.scenario}\u0000${s.host}`));
  return JSON.stringify([run.lab, run.siem, pairs]);
}

/**
 * The runs grouped into comparable sets (oldest run first in each), newest set first: a trend across runs of
 * different scenarios or hosts would show a change of plan as a change in coverage.
 */
export function runSets(runs: readonly RunIndexEntry[]): RunSet[] {
  const sets = new Map<string, RunIndexEntry[]>();
  for (const run of runs) sets.set(setKey(run), [...(sets.get(setKey(run)) ?? []), run]);
  const letter = (i: number): string =>
    i < 26 ? String.fromCharCode(65 + i) : `${letter(Math.floor(i / 26) - 1)}${letter(i % 26)}`;
  return [...sets.values()]
    .map((members, i) => {
      const first = members[0] as RunIndexEntry;
      return {
        name: letter(i),
        scenarios: distinct(members.flatMap((r) => r.signals.map((s) => s.scenario))),
        hosts: distinct(members.flatMap((r) => r.signals.map((s) => s.host))),
        lab: first.lab,
        siem: first.siem,
        runs: members,
      };
    })
    .sort((a, b) => (b.runs.at(-1)?.startedAt ?? '').localeCompare(a.runs.at(-1)?.startedAt ?? ''));
}

/**
 * One set's trends: a small pass-rate chart per signal (lines at 100 % would lie on top of each other in one
 * chart) and one detection-latency chart, each line with its own colour and dash.
 */
function setCharts(runs: readonly RunIndexEntry[]): { passRate: string[]; latency: string } {
  const labels = runs.map((r) => shortTime(r.startedAt));
  const present = signalIds.filter((id) => runs.some((r) => r.signals.some((s) => s.signal === id)));
  const passRate = present.map((id) =>
    lineChart({
      title: id,
      labels,
      series: [
        {
          name: id,
          values: runs.map((run) => {
            const judged = run.signals.filter((s) => s.signal === id && s.verdict !== 'inconclusive');
            return judged.length === 0
              ? null
              : (100 * judged.filter((s) => s.verdict === 'pass').length) / judged.length;
          }),
        },
      ],
      yMax: 100,
      ticks: 2,
      format: (v) => `${String(Math.round(v))} %`,
      size: 'small',
    }),
  );
  const latency = present.map((id) => ({
    name: id,
    values: runs.map((run) =>
      mean(run.signals.filter((s) => s.signal === id).map((s) => s.detectionLatencyMs)),
    ),
  }));
  const maxLatency = Math.max(
    1000,
    ...latency.flatMap((s) => s.values.filter((v): v is number => v !== null)),
  );
  return {
    passRate,
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
  const sets = runSets(runs);
  const setOf = new Map(sets.flatMap((set) => set.runs.map((run) => [run.runId, set.name] as const)));
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
        set: setOf.get(r.runId) ?? '',
      })),
    // Our own SVG from numbers and escaped names: inserted as markup (triple-stash) on purpose.
    sets: sets.map((set) => ({
      ...set,
      runCount: set.runs.length,
      scenarioCount: set.scenarios.length,
      hostCount: set.hosts.length,
      charts: setCharts(set.runs),
    })),
  });
}
