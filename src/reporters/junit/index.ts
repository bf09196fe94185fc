import XMLBuilder from 'fast-xml-builder';
import type { RunResult, ScenarioResult, SignalResult } from '../../core/index.js';
import { defineReporter, evalsLabel, labTag } from '../../core/index.js';
import { JunitReporterOptions } from './schema.js';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  format: true,
  suppressEmptyNode: true,
});

const seconds = (ms: number | null): string => ((ms ?? 0) / 1000).toFixed(3);

/**
 * One testcase per scenario x host x signal. `fail` is a <failure>; `inconclusive` is an <error>, not a
 * <skipped>: CI systems treat skipped as green, and a signal nobody could judge must never look like a pass.
 */
function testcase(result: ScenarioResult, signal: SignalResult): Record<string, unknown> {
  const outcome =
    signal.verdict === 'fail'
      ? {
          failure: {
            '@message': signal.reason,
            '@type': signal.timing === 'late' ? 'late' : 'fail',
            '#text': signal.reason,
          },
        }
      : signal.verdict === 'inconclusive'
        ? { error: { '@message': signal.reason, '@type': 'inconclusive', '#text': signal.reason } }
        : {};
  const evidence = [
    ...signal.observed.events.map((e) => `event ${e.ref} (EID ${String(e.eventId)}, ${e.time})`),
    ...signal.observed.alerts.map((a) => `alert ${a.ref}: ${a.title} [${a.ruleId}]`),
  ];
  return {
    '@classname': `purple-harness.${result.scenario.id}.${result.host.name}`,
    '@name': signal.id,
    '@time': seconds(signal.observed.detectionLatencyMs ?? signal.observed.latencyMs),
    properties: {
      property: [
        { '@name': 'marker', '@value': result.marker },
        { '@name': 'verdict', '@value': signal.verdict },
        { '@name': 'timing', '@value': signal.timing ?? 'none' },
        { '@name': 'readiness', '@value': signal.readiness },
        { '@name': 'tier', '@value': signal.outcome.tier },
        { '@name': 'evaluation', '@value': signal.outcome.evaluation },
        { '@name': 'attack-evaluation', '@value': evalsLabel(signal.outcome) },
        { '@name': 'vectr-outcome', '@value': signal.outcome.vectr },
        { '@name': 'detection-latency-ms', '@value': String(signal.observed.detectionLatencyMs ?? '') },
        { '@name': 'lab', '@value': result.host.simulated ? 'simulated' : 'real' },
      ],
    },
    ...outcome,
    ...(evidence.length === 0 ? {} : { 'system-out': `${signal.reason}\n${evidence.join('\n')}` }),
  };
}

export function renderJunit(run: RunResult): string {
  const suites = run.results.map((result) => ({
    '@name': `${result.scenario.id} on ${result.host.name}`,
    '@tests': String(result.signals.length),
    '@failures': String(result.signals.filter((s) => s.verdict === 'fail').length),
    '@errors': String(result.signals.filter((s) => s.verdict === 'inconclusive').length),
    '@skipped': '0',
    '@timestamp': run.startedAt,
    testcase: result.signals.map((signal) => testcase(result, signal)),
  }));
  const all = run.results.flatMap((r) => r.signals);
  const document = {
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    testsuites: {
      '@name': `purple-harness ${run.runId}${labTag(run.lab)}`,
      '@tests': String(all.length),
      '@failures': String(all.filter((s) => s.verdict === 'fail').length),
      '@errors': String(all.filter((s) => s.verdict === 'inconclusive').length),
      '@time': seconds(Date.parse(run.finishedAt) - Date.parse(run.startedAt)),
      '@timestamp': run.startedAt,
      testsuite: suites,
    },
  };
  return builder.build(document);
}

/** junit.xml for CI systems: each AN0932 signal of each scenario on each host is one test. */
export const junitReporter = defineReporter({
  id: 'junit',
  displayName: 'JUnit XML (junit.xml)',
  optionsSchema: JunitReporterOptions,
  create() {
    return { render: (run) => [{ path: 'junit.xml', content: renderJunit(run) }] };
  },
});
