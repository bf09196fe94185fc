import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunResult } from '../../core/index.js';
import { labNotice } from '../../core/index.js';
import type { LabSimulator } from '../../lab/simulator.js';
import { localHostLock } from '../../pipeline/host-lock.js';
import { runHarness, type HarnessOutcome } from '../../pipeline/run-harness.js';
import { openRun, prepareRun, type OpenRun, type PreparedRun, type RunOptions } from '../../setup/run.js';
import { fleetConcurrency } from '../../setup/siem.js';
import { redact } from '../../util/redact.js';
import { exitCodeForRun, exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { printRun } from '../print-run.js';
import { notifyRun, notifySettings, publishOrFallback, type PublishOutcome } from './publish.js';

export type { RunOptions } from '../../setup/run.js';

/** Runs the scenarios; always writes whatever results exist before returning or throwing. */
export async function runCommand(options: RunOptions, output: Output): Promise<ExitCode> {
  const prepared = prepareRun(options, output.logger);
  const notify = notifySettings(options.config, prepared.env, options.secrets);
  const opened = await openRun(prepared, options, output.logger);
  let outcome: HarnessOutcome;
  try {
    outcome = await runHarness(harnessRun(prepared, opened, options), prepared.ctx);
  } finally {
    await opened.close();
    if (opened.lab) warnLabDelivery(opened.lab.shipping, output);
  }
  const { run, crash } = outcome;
  // Nothing already collected is lost: what finished before an error is written, then main reports it.
  if (crash !== null && run.results.length === 0) throw crash.error;
  const published = publishOrFallback(
    run,
    {
      reportsDir: prepared.reportsDir,
      reporters: opened.reporters,
      evidence: outcome.evidence,
      secrets: options.secrets,
      signingKey: prepared.signingKey,
    },
    output,
  );
  if (crash !== null) {
    if (published.written !== null) {
      output.err(`[purple-harness] partial results written to ${published.written.dir}`);
      await notifyRun(run, notify, published.written.dir, output);
    }
    throw crash.error;
  }
  const exitCode = exitCodeOf(run, published);
  if (options.json === true)
    output.out(JSON.stringify(runJson(run, exitCode, published, options.secrets), null, 2));
  else printRun(run, published.written, output);
  if (published.written !== null) await notifyRun(run, notify, published.written.dir, output);
  return exitCode;
}

/** The pipeline's input: the prepared scenarios and history, the opened plug-ins, the host lock. */
function harnessRun(
  prepared: PreparedRun,
  opened: OpenRun,
  options: RunOptions,
): Parameters<typeof runHarness>[0] {
  return {
    scenarios: prepared.scenarios,
    hosts: opened.hosts,
    executor: opened.executor,
    siem: opened.siem,
    lab: prepared.labKind,
    schedule: prepared.polling.schedule,
    deadlines: prepared.polling,
    version: options.version,
    ...(opened.payloadServer ? { payloadServer: opened.payloadServer } : {}),
    controls: prepared.controls,
    history: prepared.history,
    timeWindowMs: prepared.timeWindowMs,
    shard: options.shard,
    concurrency:
      options.concurrency ??
      options.config.lab?.concurrency ??
      fleetConcurrency(opened.siem, prepared.polling),
    preflight: options.preflight,
    lockHost: localHostLock(resolve('.purple-harness', 'locks')),
    shouldStop: () => existsSync(prepared.stopFile),
  };
}

/** Reports kept only in the fallback folder (or nowhere) are an infrastructure failure of a passing run. */
function exitCodeOf(run: RunResult, published: PublishOutcome): ExitCode {
  const runCode = exitCodeForRun(run.status, run.regressions.length);
  return published.problem !== null && runCode === exitCodes.passed ? exitCodes.infrastructure : runCode;
}

/** `--json`: one document with the verdicts, where the reports are, and why not where asked. */
function runJson(
  run: RunResult,
  exitCode: ExitCode,
  published: PublishOutcome,
  secrets: ReadonlySet<string>,
) {
  const notice = labNotice(run);
  return {
    runId: run.runId,
    status: run.status,
    exitCode,
    lab: run.lab,
    ...(notice === null ? {} : { notice }),
    summary: run.summary,
    notRun: run.notRun,
    regressions: run.regressions,
    scenarios: run.results.map((r) => ({
      scenario: r.scenario.id,
      host: r.host.name,
      status: r.status,
      signals: r.signals.map((s) => ({ id: s.id, verdict: s.verdict, reason: s.reason })),
    })),
    reportDir: published.written?.dir ?? null,
    ...(published.problem === null ? {} : { reportProblem: redact(published.problem, secrets) }),
  };
}

/** Events the embedded lab could not deliver make "not captured" the lab's fault: said, never silent. */
function warnLabDelivery(shipping: LabSimulator['shipping'], output: Output): void {
  if (shipping.failedBatches === 0 && shipping.rejected === 0) return;
  output.logger.warn(
    `embedded lab: the SIEM did not take every event (${String(shipping.failedBatches)} batch(es) failed, ${String(shipping.rejected)} event(s) refused): ${shipping.lastError ?? 'no reason given'}`,
  );
}
