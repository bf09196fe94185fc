import XMLBuilder from 'fast-xml-builder';
import type { RunResult, ScenarioResult, SignalResult } from '../../core/index.js';
import { evalsLabel, labTag, type Reporter } from '../../core/index.js';
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

/**
 * Planned pairs that never ran, as errors (a run with nothing planned is one): a CI system reading only
 * junit.xml must not see a partial run as green.
 */
function notRunCases(run: RunResult): Record<string, unknown>[] {
  const pairs =
    run.notRun.length > 0 || run.results.length > 0
      ? run.notRun.map((p) => ({ name: `${p.scenario} on ${p.host}`, reason: `not run: ${p.reason}` }))
      : [
          {
            name: 'the plan',
            reason: 'not run: nothing was planned (check the scenarios, --host and --shard)',
          },
        ];
  return pairs.map((pair) => ({
    '@classname': 'purple-harness.not-run',
    '@name': pair.name,
    '@time': '0.000',
    error: { '@message': pair.reason, '@type': 'not-run', '#text': pair.reason },
  }));
}

export function renderJunit(run: RunResult): string {
  const notRun = notRunCases(run);
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
      // The run's status in the name CI shows, since JUnit has no field for it.
      '@name': `purple-harness ${run.runId}: ${run.status}${labTag(run.lab)}`,
      '@tests': String(all.length + notRun.length),
      '@failures': String(all.filter((s) => s.verdict === 'fail').length),
      '@errors': String(all.filter((s) => s.verdict === 'inconclusive').length + notRun.length),
      '@time': seconds(Date.parse(run.finishedAt) - Date.parse(run.startedAt)),
      '@timestamp': run.startedAt,
      testsuite: [
        ...suites,
        ...(notRun.length === 0
          ? []
          : [
              {
                '@name': 'not run',
                '@tests': String(notRun.length),
                '@failures': '0',
                '@errors': String(notRun.length),
                '@skipped': '0',
                '@timestamp': run.startedAt,
                testcase: notRun,
              },
            ]),
      ],
    },
  };
  return builder.build(document);
}

/** junit.xml for CI systems: each AN0932 signal of each scenario on each host is one test. */
/** The implementation `junitReporter.load()` hands out. */
export function create(): Reporter {
  return { render: (run) => [{ path: 'junit.xml', content: renderJunit(run) }] };
}
