import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateSignal } from '../../src/assert/evaluate.js';
import type { TelemetryQuery } from '../../src/core/index.js';
import { RunRecord } from '../../src/core/index.js';
import { alertEvidence, evidence } from '../../src/poll/poll.js';
import type { QueryPlanRecord, SignalEvidenceFile } from '../../src/report/evidence.js';
import { Manifest } from '../../src/report/manifest.js';
import { verifyBundle } from '../../src/report/verify.js';
import { signalCatalog } from '../../src/signals/catalog.js';
import { classify } from '../../src/signals/classify.js';
import { quickScenarios, runCli, repoRoot } from '../helpers/cli.js';

/*
 * One embedded run with a dropped signal (so the bundle holds passes and fails), then a second run in the
 * same reports folder (so the chain has a link). The tests only read it, or tamper with copies.
 */
const root = mkdtempSync(join(tmpdir(), 'purple-harness-evidence-'));
const reports = join(root, 'reports');
let firstDir = '';
let secondDir = '';

test.before(async () => {
  const scenarios = join(root, 'scenarios');
  mkdirSync(scenarios);
  quickScenarios(scenarios);
  const first = await runCli(['run', scenarios, '--reports-dir', reports, '--lab-drop', 'child-process'], {
    cwd: root,
  });
  if (first.exitCode !== 1) throw new Error(`first run: exit ${String(first.exitCode)}\n${first.stderr}`);
  firstDir = runDirOf();
  const second = await runCli(
    ['run', join(repoRoot, 'builtin-scenarios', 'cmstp-local-inf-presetup.yaml'), '--reports-dir', reports],
    { cwd: root },
  );
  if (second.exitCode !== 0) throw new Error(`second run: exit ${String(second.exitCode)}\n${second.stderr}`);
  secondDir = runDirOf();
});
test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
});

function runDirOf(): string {
  const run = RunRecord.parse(JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')));
  return join(reports, run.runId);
}

function manifestOf(dir: string): Manifest {
  return Manifest.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
}

/** A copy of the reports folder to tamper with. */
function copyOfReports(): string {
  const copy = mkdtempSync(join(tmpdir(), 'purple-harness-tamper-'));
  cpSync(reports, copy, { recursive: true, verbatimSymlinks: true });
  return copy;
}

test('an untouched bundle verifies, chain included, through the CLI', async (t) => {
  const result = await runCli(['verify', secondDir], { cwd: root });

  t.is(result.exitCode, 0, result.stderr);
  t.regex(
    result.stdout,
    /^OK .*: \d+ files match manifest\.json, unsigned, chain intact through 1 earlier run/m,
  );
});

test('the bundle holds the rendered INF with its hash, transcripts, preflight, raw SIEM data, queries and clean-up', (t) => {
  const run = RunRecord.parse(JSON.parse(readFileSync(join(firstDir, 'run.json'), 'utf8')));
  for (const result of run.results) {
    const kinds = new Set(result.evidence.map((e) => e.kind));
    for (const kind of ['transcript', 'preflight', 'queries', 'cleanup', 'siem-signal'] as const)
      t.true(kinds.has(kind), `${result.scenario.id}: ${kind}`);
    const payload = result.evidence.find((e) => e.kind === 'payload');
    if (result.execution?.payload) {
      // The INF on disk is the one staged on the host: same SHA-256 as the execution recorded.
      t.is(payload?.sha256, result.execution.payload.sha256, result.scenario.id);
      t.regex(readFileSync(join(firstDir, payload?.path ?? ''), 'utf8'), /\[version\]/i);
    }
    t.is(result.evidence.filter((e) => e.kind === 'siem-signal').length, result.signals.length);
    // The clean-up diff: what the run created on the host, and that none of it is left.
    const cleanup = result.evidence.find((e) => e.kind === 'cleanup');
    const diff = JSON.parse(readFileSync(join(firstDir, cleanup?.path ?? ''), 'utf8')) as {
      created: string[];
      residue: string[];
    };
    t.true(
      diff.created.some((item) => item.includes(result.marker)),
      result.scenario.id,
    );
    t.deepEqual(diff.residue, [], result.scenario.id);
  }
  const manifest = manifestOf(firstDir);
  const paths = new Set(manifest.files.map((f) => f.path));
  for (const entry of run.results.flatMap((r) => r.evidence)) t.true(paths.has(entry.path), entry.path);
});

test('changing one byte of any file makes verify fail, naming that file', (t) => {
  const copy = copyOfReports();
  t.teardown(() => {
    rmSync(copy, { recursive: true, force: true });
  });
  const dir = join(copy, firstDir.slice(reports.length + 1));
  const files = manifestOf(dir).files.map((f) => f.path);
  t.true(files.length > 50);
  for (const path of files) {
    const file = join(dir, path);
    const original = readFileSync(file);
    const changed = Buffer.from(original);
    changed[changed.length >> 1] = (changed[changed.length >> 1] ?? 0) ^ 1;
    writeFileSync(file, changed);
    const result = verifyBundle(dir, { chain: false });
    t.false(result.ok, path);
    t.true(
      result.problems.some((p) => p.startsWith(`${path}: changed`)),
      `${path}: ${result.problems.join('; ')}`,
    );
    writeFileSync(file, original);
  }
  t.true(verifyBundle(dir, { chain: false }).ok);
});

test('a file added after the run, or removed, is named too; the CLI exits 1', async (t) => {
  const copy = copyOfReports();
  t.teardown(() => {
    rmSync(copy, { recursive: true, force: true });
  });
  const dir = join(copy, firstDir.slice(reports.length + 1));
  writeFileSync(join(dir, 'evidence', 'planted.txt'), 'not from the run');
  const [removed] = manifestOf(dir).files.filter((f) => f.path.endsWith('transcript.json'));
  rmSync(join(dir, removed?.path ?? ''));

  const result = await runCli(['verify', dir, '--no-chain'], { cwd: root });

  t.is(result.exitCode, 1);
  t.regex(result.stderr, /evidence\/planted\.txt: not in the manifest/);
  t.true(result.stderr.includes(`${removed?.path ?? '?'}: missing`));
});

test("a broken chain is detected: the earlier run's manifest changed after the next run linked to it", (t) => {
  const copy = copyOfReports();
  t.teardown(() => {
    rmSync(copy, { recursive: true, force: true });
  });
  const first = join(copy, firstDir.slice(reports.length + 1));
  const second = join(copy, secondDir.slice(reports.length + 1));
  t.is(manifestOf(second).previous?.runId, manifestOf(first).runId);
  t.is(verifyBundle(second).chainLength, 1);

  // Rewriting history: a fail turned into a pass, with a manifest made to match.
  const manifest = readFileSync(join(first, 'manifest.json'), 'utf8');
  writeFileSync(join(first, 'manifest.json'), manifest.replace('"bytes"', '"bytes" '));

  const result = verifyBundle(second);
  t.false(result.ok);
  t.regex(result.problems.join('\n'), /manifest\.json: changed since the next run chained to it/);
  t.true(verifyBundle(second, { chain: false }).ok);
  rmSync(first, { recursive: true });
  t.regex(verifyBundle(second).problems.join('\n'), /missing, so the chain breaks/);
});

test("the verdicts re-derived from the bundle's raw SIEM events equal run.json's", (t) => {
  const run = RunRecord.parse(JSON.parse(readFileSync(join(firstDir, 'run.json'), 'utf8')));
  const verdicts = new Set<string>();
  for (const result of run.results) {
    const dir = join(firstDir, 'evidence', result.scenario.id, result.host.name);
    const { plan } = JSON.parse(readFileSync(join(dir, 'queries.json'), 'utf8')) as {
      plan: QueryPlanRecord;
    };
    for (const signal of result.signals) {
      const file = JSON.parse(
        readFileSync(join(dir, 'siem', `${signal.id}.json`), 'utf8'),
      ) as SignalEvidenceFile;
      const definition = signalCatalog[signal.id];
      const query: TelemetryQuery = {
        host: plan.host,
        marker: plan.marker,
        bindings: plan.bindings,
        processWindow: {
          since: new Date(plan.processWindow.since),
          until: new Date(plan.processWindow.until),
        },
        since: new Date(plan.since),
        until: new Date(plan.evidenceUntil ?? 8.64e15),
        signals: [definition],
      };
      // Every raw event in the signal's file is still evidence of that signal, by the same definitions.
      const events = classify(query, file.events).get(signal.id) ?? [];
      t.is(events.length, file.events.length, `${result.scenario.id}/${signal.id}`);
      const refs = new Set(events.map((e) => e.ref));
      const alerts = file.alerts.filter((a) => a.eventRefs.some((r) => refs.has(r)));
      const again = evaluateSignal({
        expectation: file.expectation,
        definition,
        execution: result.execution,
        observation: file.polled
          ? {
              signal: signal.id,
              events: events.map(evidence),
              alerts: alerts.map(alertEvidence),
              firstSeenAt: file.firstSeenAt,
              alertFirstSeenAt: file.alertFirstSeenAt,
              polls: file.polls,
              error: file.error,
              capturedLate: file.capturedLate,
              detectedLate: file.detectedLate,
              ...(file.absence === undefined ? {} : { absence: file.absence }),
            }
          : undefined,
        captureTimeoutMs: plan.captureTimeoutMs,
        detectTimeoutMs: plan.detectTimeoutMs,
        readiness: file.readiness,
        pipeline: result.pipeline.status,
      });
      t.deepEqual(
        { verdict: again.verdict, reason: again.reason, outcome: again.outcome },
        { verdict: signal.verdict, reason: signal.reason, outcome: signal.outcome },
        `${result.scenario.id}/${signal.id}`,
      );
      verdicts.add(signal.verdict);
    }
  }
  // The dropped signal fails, the rest pass: both kinds of verdict were re-derived.
  t.deepEqual([...verdicts].sort(), ['fail', 'pass']);
});
