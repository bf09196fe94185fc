import type { RunResult, SignalResult } from '../../core/index.js';
import { evalsLabel, labTag, type Reporter } from '../../core/index.js';
/** Outcome colours, from "every expected signal alerted" to "nothing seen"; grey when nothing could be judged. */
const outcomes = {
  detected: { color: '#31a354', label: 'Detected: every expected signal passed' },
  partial: { color: '#fdae61', label: 'Partly detected or telemetry only' },
  missed: { color: '#de2d26', label: 'Missed: expected signals failed, none passed' },
  inconclusive: { color: '#bdbdbd', label: 'Inconclusive: could not be judged' },
} as const;

function outcomeOf(signals: readonly SignalResult[]): keyof typeof outcomes {
  const judged = signals.filter((s) => s.verdict !== 'inconclusive');
  if (judged.length === 0) return 'inconclusive';
  if (judged.every((s) => s.verdict === 'pass') && judged.length === signals.length) return 'detected';
  return judged.some((s) => s.verdict === 'pass' || s.observed.captured === true) ? 'partial' : 'missed';
}

/** What the layer says about one signal: its verdict, the tier seen and its ATT&CK Evaluations category. */
function tier(signal: SignalResult): string {
  return `${signal.verdict} (${signal.outcome.tier}${signal.timing === 'late' ? ', late' : ''}; ATT&CK Evals: ${evalsLabel(signal.outcome)})`;
}

/**
 * An ATT&CK Navigator layer (format 4.5) for the run: T1218.003 coloured by outcome and scored by the share
 * of expected signals that passed, with each scenario x host x signal in the technique's metadata.
 */
export function renderLayer(run: RunResult): Record<string, unknown> {
  const signals = run.results.flatMap((r) => r.signals);
  const outcome = outcomeOf(signals);
  const passed = signals.filter((s) => s.verdict === 'pass').length;
  const simulated = labTag(run.lab);
  return {
    name: `purple-harness ${run.runId}${simulated}`,
    versions: { layer: '4.5', navigator: '5.1.0', attack: '17' },
    domain: 'enterprise-attack',
    description: `CMSTP (T1218.003) validation, analytic AN0932, run ${run.status}: ${String(passed)} of ${String(signals.length)} expected signals passed on ${String(new Set(run.results.map((r) => r.host.name)).size)} host(s)${simulated}.`,
    sorting: 0,
    hideDisabled: false,
    techniques: [
      { techniqueID: 'T1218', tactic: 'defense-evasion', showSubtechniques: true },
      {
        techniqueID: 'T1218.003',
        tactic: 'defense-evasion',
        color: outcomes[outcome].color,
        ...(outcome === 'inconclusive' || signals.length === 0
          ? {}
          : { score: Math.round((passed / signals.length) * 100) }),
        comment: `${outcomes[outcome].label}. ${run.summary.pass} pass, ${run.summary.fail} fail (${run.summary.late} late), ${run.summary.inconclusive} inconclusive.`,
        enabled: true,
        metadata: run.results.flatMap((result) =>
          result.signals.map((signal) => ({
            name: `${result.scenario.id} on ${result.host.name}: ${signal.id}`,
            value: tier(signal),
          })),
        ),
        showSubtechniques: false,
      },
    ],
    gradient: { colors: ['#de2d26', '#fdae61', '#31a354'], minValue: 0, maxValue: 100 },
    legendItems: Object.values(outcomes).map(({ label, color }) => ({ label, color })),
    showTacticRowBackground: false,
    selectTechniquesAcrossTactics: true,
    selectSubtechniquesWithParent: false,
  };
}

/** navigator-layer.json: open it in the ATT&CK Navigator ("Open Existing Layer"). */
/** The implementation `navigatorReporter.load()` hands out. */
export function create(): Reporter {
  return {
    render: (run) => [
      { path: 'navigator-layer.json', content: `${JSON.stringify(renderLayer(run), null, 2)}\n` },
    ],
  };
}
