import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Publication, RunResult, ScenarioResult, SignalId, SignalResult } from '../../core/index.js';
import {
  controlRow,
  evalsLabel,
  formatMs,
  integrityLines,
  labNotice,
  labTag,
  runFindings,
  signalIds,
  tuningBoundaries,
  type Reporter,
} from '../../core/index.js';
import { templatesDir } from '../../util/paths.js';
/** One matrix cell: a scenario x host row and a signal column; null where the scenario expects nothing. */
interface Cell {
  readonly verdict: string;
  readonly tier: string;
  readonly late: boolean;
  readonly title: string;
}

const pairName = (r: ScenarioResult): string => `${r.scenario.id} on ${r.host.name}`;

function cell(signal: SignalResult | undefined): Cell | null {
  if (signal === undefined) return null;
  return {
    verdict: signal.verdict,
    tier: signal.outcome.tier,
    late: signal.timing === 'late',
    title: `${signal.verdict}; ${signal.outcome.tier}; ATT&CK Evals ${evalsLabel(signal.outcome)}; VECTR ${signal.outcome.vectr}: ${signal.reason}`,
  };
}

/** What "no blind spots" means in this run: found none, could not look for some, or could not look at all. */
export function noBlindSpotsSentence(readiness: readonly string[]): string {
  const unknown = readiness.filter((r) => r === 'unknown').length;
  if (readiness.length > 0 && unknown === readiness.length)
    return "Not known: preflight did not report what any host's sensors can record in this run, so blind spots could not be looked for.";
  if (unknown > 0)
    return `None found where preflight could tell; for ${String(unknown)} of ${String(readiness.length)} expected signals it could not.`;
  return readiness.length === 0
    ? 'Nothing was expected in this run.'
    : "None: preflight found every host's sensors able to record every expected signal.";
}

/** Everything the page shows, worked out here so the template only lays it out. Pure. */
export function htmlView(run: RunResult, publication?: Publication) {
  const columns = signalIds.filter((id) => run.results.some((r) => r.signals.some((s) => s.id === id)));
  const rows = run.results.map((r) => ({
    name: pairName(r),
    anchor: `r-${r.scenario.id}-${r.host.name}`,
    status: r.status,
    cells: columns.map((id: SignalId) => cell(r.signals.find((s) => s.id === id))),
  }));
  const signals = run.results.flatMap((r) => r.signals.map((s) => ({ pair: pairName(r), signal: s })));
  return {
    run,
    findings: runFindings(run),
    integrity: integrityLines(run.runId, publication),
    controls: run.controls.map(controlRow),
    boundaries: tuningBoundaries(run),
    notice: labNotice(run),
    tag: labTag(run.lab),
    columns,
    rows,
    figures: {
      mttd: formatMs(run.summary.mttdMs),
      capture: formatMs(run.summary.meanCaptureLatencyMs),
    },
    blindSpotsNone: noBlindSpotsSentence(signals.map(({ signal }) => signal.readiness)),
    blindSpots: signals
      .filter(({ signal }) => signal.outcome.evaluation === 'blind-spot' || signal.readiness === 'blind')
      .map(({ pair, signal }) => ({ pair, id: signal.id, verdict: signal.verdict, reason: signal.reason })),
    latencies: signals.map(({ pair, signal }) => ({
      pair,
      id: signal.id,
      verdict: signal.verdict,
      telemetry: formatMs(signal.observed.latencyMs),
      alert: formatMs(signal.observed.detectionLatencyMs),
      evals: evalsLabel(signal.outcome),
      vectr: signal.outcome.vectr,
      late: signal.timing === 'late',
    })),
    results: run.results.map((r) => ({
      ...r,
      anchor: `r-${r.scenario.id}-${r.host.name}`,
      name: pairName(r),
      mttd: formatMs(r.summary.mttdMs),
      cleanup:
        r.execution === null
          ? { label: 'not run', ok: null }
          : r.execution.cleanup.verified
            ? { label: 'verified clean', ok: true }
            : r.execution.cleanup.ran
              ? { label: 'NOT verified', ok: false }
              : { label: 'not needed (nothing reached the host)', ok: null },
    })),
  };
}

function createTemplate(): HandlebarsTemplateDelegate<ReturnType<typeof htmlView>> {
  const engine = Handlebars.create();
  engine.registerHelper('upper', (value: unknown) => String(value).toUpperCase());
  engine.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  engine.registerHelper('or', (a: unknown, b: unknown) => Boolean(a) || Boolean(b));
  engine.registerHelper('sum', (a: unknown, b: unknown) => Number(a) + Number(b));
  engine.registerHelper('ms', (value: unknown) => formatMs(typeof value === 'number' ? value : null));
  const source = readFileSync(join(templatesDir(), 'report', 'report.html.hbs'), 'utf8');
  // HTML-escaping stays on: every value from a host or a SIEM is text, never markup.
  return engine.compile(source, { strict: false });
}

/** report.html: one self-contained page (inline CSS, no scripts, no external assets), readable offline and printable. */
/** The implementation `htmlReporter.load()` hands out. */
export function create(): Reporter {
  const template = createTemplate();
  return {
    render: (run, publication) => [{ path: 'report.html', content: template(htmlView(run, publication)) }],
  };
}
