import test from 'ava';
import type { ReporterDefinition, RunResult, SignalResult } from '../../src/core/index.js';
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
    notRun: [],
    shard: null,
    mergedFrom: null,
    schemaVersion: 2,
    runId: '20261123T120000Z-abcdef',
    harness: { name: 'purple-harness', version: '0.1.0' },
    startedAt: '2026-11-23T12:00:00.000Z',
    finishedAt: '2026-11-23T12:00:05.000Z',
    lab,
    siem: { id: 'local', description: 'local SIEM' },
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

/** The shared contract every reporter passes: pure, deterministic, relative paths, every signal present. */
export function testReporter(name: string, definition: ReporterDefinition): void {
  test(`${name}: renders the same content for the same run`, (t) => {
    const run = sampleRun();
    const reporter = definition.create(definition.optionsSchema.parse({}));

    const first = reporter.render(run);
    const second = reporter.render(structuredClone(run));

    t.deepEqual(first, second);
    t.true(first.length > 0);
  });

  test(`${name}: writes only relative paths inside the report folder`, (t) => {
    for (const artifact of definition.create(definition.optionsSchema.parse({})).render(sampleRun())) {
      t.false(artifact.path.startsWith('/'));
      t.false(artifact.path.includes('..'));
    }
  });

  test(`${name}: every signal and verdict appears`, (t) => {
    const content = definition
      .create(definition.optionsSchema.parse({}))
      .render(sampleRun())
      .map((a) => a.content)
      .join('\n');

    for (const id of ['cmstp-exec', 'child-process', 'payload-file']) t.true(content.includes(id), id);
    for (const verdict of ['pass', 'fail', 'inconclusive']) t.regex(content, new RegExp(verdict, 'i'));
  });
}
