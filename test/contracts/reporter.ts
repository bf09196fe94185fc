import test from 'ava';
import type { Reporter, ReporterDefinition, RunResult, SignalResult } from '../../src/core/index.js';
import { assessControls } from '../../src/assert/controls.js';
import { loadControls } from '../../src/config/controls.js';
import { summarizeSignals } from '../../src/core/index.js';

/** A small but complete run: one scenario, a pass, a fail and an inconclusive signal. */
export function sampleRun(lab: 'simulated' | 'real' = 'simulated'): RunResult {
  const event = {
    ref: 'local:event:1',
    eventId: 1,
    time: '2026-11-23T12:00:00.100Z',
    indexedAt: '2026-11-23T12:00:00.200Z',
    summary: { Image: 'C:\\Windows\\System32\\cmstp.exe', CommandLine: 'cmstp.exe /s x|y' },
  };
  const observed = {
    captured: true,
    detected: true,
    events: [event],
    alerts: [
      {
        ref: 'local:alert:1',
        ruleId: 'ph-cmstp-inf-from-user-path',
        title: 'CMSTP installs a profile from a user-writable path',
        level: 'high',
        time: '2026-11-23T12:00:02.000Z',
        eventRefs: ['local:event:1'],
        attack: ['T1218.003', 'TA0005'],
      },
    ],
    firstSeenAt: '2026-11-23T12:00:01.000Z',
    latencyMs: 1000,
    detectionLatencyMs: 2000,
  };
  const signals: SignalResult[] = [
    {
      id: 'cmstp-exec',
      expected: { captured: true, detected: true, rule: null },
      observed,
      verdict: 'pass',
      timing: 'on-time',
      reason: 'captured | detected',
      readiness: 'ready',
      outcome: {
        tier: 'alert',
        evaluation: 'evaluated',
        attackEvaluation: { category: 'Technique', modifiers: [] },
        vectr: 'Alerted',
      },
    },
    {
      id: 'child-process',
      expected: { captured: true, detected: true, rule: null },
      observed: {
        ...observed,
        captured: false,
        detected: false,
        events: [],
        alerts: [],
        latencyMs: null,
        detectionLatencyMs: null,
      },
      verdict: 'fail',
      timing: null,
      reason: 'not captured',
      readiness: 'ready',
      outcome: {
        tier: 'none',
        evaluation: 'evaluated',
        attackEvaluation: { category: 'None', modifiers: [] },
        vectr: 'None',
      },
    },
    {
      id: 'payload-file',
      expected: { captured: true, detected: null, rule: null },
      observed: {
        ...observed,
        captured: null,
        detected: null,
        events: [],
        alerts: [],
        latencyMs: null,
        detectionLatencyMs: null,
      },
      verdict: 'inconclusive',
      timing: null,
      reason: 'not polled',
      readiness: 'unknown',
      outcome: { tier: 'none', evaluation: 'inconclusive', attackEvaluation: null, vectr: 'TBD' },
    },
  ];
  const run: Omit<RunResult, 'controls'> = {
    regressions: [],
    suggestions: { offered: [], withheld: [] },
    timeWindowMs: null,
    notRun: [],
    shard: null,
    mergedFrom: null,
    schemaVersion: 2,
    runId: '20261123T120000Z-abcdef',
    harness: { name: 'purple-harness', version: '0.1.0' },
    startedAt: '2026-11-23T12:00:00.000Z',
    finishedAt: '2026-11-23T12:00:05.000Z',
    lab,
    siem: { id: 'local', description: 'local SIEM', tuning: 'default' },
    status: 'failed',
    summary: { scenarios: 1, ...summarizeSignals(signals) },
    results: [
      {
        scenario: {
          id: 'cmstp-local-inf-presetup',
          title: 'Title',
          file: 'scenarios/x.yaml',
          sha256: 'ab'.repeat(32),
        },
        host: { name: 'WIN10-LAB-01', address: '127.0.0.1', simulated: lab === 'simulated' },
        alertCleanup: null,
        collateral: {
          alerts: [
            {
              ref: 'local:alert:9',
              ruleId: 'collateral-rule',
              title: 'PowerShell started over SSH',
              level: 'low',
              eventTime: '2026-11-23T12:00:01.000Z',
              eventRefs: ['local:event:3'],
              step: 'preflight',
            },
          ],
          error: null,
        },
        queries: [
          {
            kind: 'telemetry',
            at: '2026-11-23T12:00:02.000Z',
            durationMs: 4,
            probes: ['cmstp-exec', 'child-process'],
            hits: 0,
            text: 'SELECT * FROM events WHERE ...',
            error: null,
          },
        ],
        pipeline: {
          status: 'unproven',
          reason: 'the canary written at 2026-11-23T12:00:01.000Z never reached the SIEM',
          canary: {
            text: 'purple-harness-canary ph1',
            writtenAt: '2026-11-23T12:00:01.000Z',
            seenAt: null,
            event: null,
          },
        },
        marker: 'ph0123456789ab',
        status: 'failed',
        execution: null,
        error: null,
        signals,
        summary: summarizeSignals(signals),
        evidence: [
          {
            path: 'evidence/cmstp-local-inf-presetup/WIN10-LAB-01/payload/ph0123456789ab.inf',
            kind: 'payload',
            sha256: 'cd'.repeat(32),
            bytes: 812,
            signal: null,
          },
          {
            path: 'evidence/cmstp-local-inf-presetup/WIN10-LAB-01/siem/cmstp-exec.json',
            kind: 'siem-signal',
            sha256: 'ef'.repeat(32),
            bytes: 2048,
            signal: 'cmstp-exec',
          },
        ],
      },
    ],
  };
  return { ...run, controls: assessControls(loadControls(), run.results) };
}

type Verdict = SignalResult['verdict'];

/** Everything a reporter wrote for a run, as one text. */
function rendered(reporter: Reporter, run: RunResult): string {
  return reporter
    .render(run)
    .map((a) => `${a.path}\n${a.content}`)
    .join('\n');
}

/** The sample run with one signal's verdict (only the verdict) changed. */
function withVerdict(run: RunResult, id: string, verdict: Verdict): RunResult {
  return {
    ...run,
    results: run.results.map((r) => ({
      ...r,
      signals: r.signals.map((s) => (s.id === id ? { ...s, verdict } : s)),
    })),
  };
}

/**
 * The reporter contract as checks that return what is wrong (empty when the reporter holds it), so a
 * meta-test can show each check failing a deliberately broken reporter (#19).
 * - pure: the same run renders the same content;
 * - every path relative and inside the report folder;
 * - every signal named;
 * - each signal's verdict shown: changing that one verdict changes the report (a reporter that drops or
 *   fixes a verdict renders the same text either way);
 * - the run's status shown: changing it changes the report, and the status word is there.
 */
export const reporterChecks = {
  deterministic(reporter: Reporter): string[] {
    const run = sampleRun();
    const first = rendered(reporter, run);
    return first.length > 0 && first === rendered(reporter, structuredClone(run))
      ? []
      : ['the same run rendered different content (or none)'];
  },
  relativePaths(reporter: Reporter): string[] {
    return reporter
      .render(sampleRun())
      .filter((a) => a.path.startsWith('/') || a.path.includes('..'))
      .map((a) => `writes outside the report folder: ${a.path}`);
  },
  signalsNamed(reporter: Reporter): string[] {
    const content = rendered(reporter, sampleRun());
    return ['cmstp-exec', 'child-process', 'payload-file']
      .filter((id) => !content.includes(id))
      .map((id) => `signal ${id} is not named`);
  },
  verdictsShown(reporter: Reporter): string[] {
    const run = sampleRun();
    const base = rendered(reporter, run);
    const verdicts: readonly Verdict[] = ['pass', 'fail', 'inconclusive'];
    return (run.results[0]?.signals ?? []).flatMap((signal) =>
      verdicts
        .filter((v) => v !== signal.verdict)
        .filter((v) => rendered(reporter, withVerdict(run, signal.id, v)) === base)
        .map(
          (v) =>
            `${signal.id} reads the same as ${v} as it does as ${signal.verdict}: its verdict is not shown`,
        ),
    );
  },
  statusShown(reporter: Reporter): string[] {
    const run = sampleRun();
    const problems: string[] = [];
    for (const status of ['passed', 'inconclusive'] as const) {
      const other = rendered(reporter, { ...run, status });
      if (other === rendered(reporter, run))
        problems.push(`the run reads the same ${status} as ${run.status}: its status is not shown`);
      else if (!new RegExp(status, 'i').test(other)) problems.push(`a ${status} run does not say ${status}`);
    }
    return problems;
  },
} satisfies Record<string, (reporter: Reporter) => string[]>;

/** The shared contract every reporter passes, one test per check. */
export function testReporter(name: string, definition: ReporterDefinition): void {
  for (const [check, problems] of Object.entries(reporterChecks))
    test(`${name}: contract: ${check}`, async (t) => {
      t.deepEqual(problems(await createdReporter(definition)), []);
    });
}

/** A registered reporter as the writer gets it: loaded through its entry, its (empty) options checked. */
export async function createdReporter(definition: ReporterDefinition): Promise<Reporter> {
  return (await definition.load()).create(definition.optionsSchema.parse({}));
}
