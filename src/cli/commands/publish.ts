import type { KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { errorMessage, type ReportArtifact, type RunResult } from '../../core/index.js';
import { renderDashboard } from '../../report/dashboard.js';
import { indexEntry } from '../../report/history.js';
import { previousLink, updateRunIndex, writeReports } from '../../report/write.js';
import { keyId } from '../../report/manifest.js';
import type { LoadedReporters } from '../../reporters/registry.js';
import { NotifyConfig, type HarnessConfig } from '../../config/schema.js';
import { notifyReasons, sendWebhook, webhookBody } from '../../notify/webhook.js';
import type { Output } from '../output.js';

export interface Published {
  readonly dir: string;
  readonly files: string[];
  readonly manifestSha256: string;
  readonly indexFiles: string[];
}

/**
 * A finished (or partial, or merged) run's way to disk: every report format and the evidence bundle through
 * the one writer (manifest, chain, signature), then the run index and the dashboard.
 */
export function publishRun(
  run: RunResult,
  options: {
    readonly reportsDir: string;
    readonly reporters: LoadedReporters;
    readonly evidence: readonly ReportArtifact[];
    readonly secrets: ReadonlySet<string>;
    readonly signingKey: KeyObject | null;
  },
): Published {
  // What the reports say of their own filing: the chain link this run's manifest will carry, and the signer.
  const publication = {
    previous: previousLink(resolve(options.reportsDir), run.runId),
    signingKeyId: options.signingKey === null ? null : keyId(options.signingKey),
  };
  const reports = options.reporters.render(run, publication);
  const written = writeReports(
    options.reportsDir,
    run.runId,
    [...reports, ...options.evidence],
    options.secrets,
    {
      harness: `purple-harness ${run.harness.version}`,
      signingKey: options.signingKey,
      // The link the reports name is the one the manifest carries.
      previous: publication.previous,
    },
  );
  const entry = indexEntry(run, {
    manifestSha256: written.manifestSha256,
    report: options.reporters.formats.includes('html') ? `${run.runId}/report.html` : null,
  });
  return { ...written, indexFiles: updateRunIndex(options.reportsDir, entry, renderDashboard) };
}

/** Where a run's reports go when the reports folder fails after hosts were touched: the temp folder. */
export function fallbackReportsDir(): string {
  return join(tmpdir(), 'purple-harness-reports');
}

/** What became of a run's reports: where they were written, and why not where asked, if so. */
export interface PublishOutcome {
  readonly written: Published | null;
  /** Why the reports are not in the asked-for folder; null when they are. */
  readonly problem: string | null;
}

/**
 * Once anything ran on a host nothing collected may be lost: when the reports folder fails, the same bundle
 * goes to the fallback folder (and `verify` accepts it there), and the caller prints the verdicts either way.
 */
export function publishOrFallback(
  run: RunResult,
  options: Parameters<typeof publishRun>[1],
  output: Output,
): PublishOutcome {
  try {
    return { written: publishRun(run, options), problem: null };
  } catch (error) {
    const problem = errorMessage(error);
    const fallback = fallbackReportsDir();
    try {
      const written = publishRun(run, { ...options, reportsDir: fallback });
      output.err(
        `[purple-harness] ${problem}; the reports were written to ${written.dir} instead (check with: purple-harness verify ${written.dir})`,
      );
      return { written, problem };
    } catch (again) {
      output.err(
        `[purple-harness] ${problem}; the fallback folder ${fallback} failed too (${errorMessage(again)}): the verdicts below are all that is kept`,
      );
      return { written: null, problem };
    }
  }
}

/** The webhook settings: the config's `notify`, or the defaults when only PURPLE_HARNESS_WEBHOOK_URL is set. */
export function notifySettings(
  config: HarnessConfig,
  env: Readonly<Record<string, string | undefined>>,
  secrets: Set<string>,
): (NonNullable<HarnessConfig['notify']> & { readonly url: string }) | null {
  const settings = config.notify ?? NotifyConfig.parse({});
  const url = env[settings.urlEnv];
  if (url === undefined || url === '') return null;
  // Webhook URLs carry their own credential (Slack, Teams): redacted like any secret.
  secrets.add(url);
  return { ...settings, url };
}

/** Calls the webhook when the run is one of the configured events; a failure to notify is only a warning. */
export async function notifyRun(
  run: RunResult,
  settings: ReturnType<typeof notifySettings>,
  reportDir: string,
  output: Output,
): Promise<void> {
  if (settings === null) return;
  const reasons = notifyReasons(run, settings.on);
  if (reasons.length === 0) return;
  const problem = await sendWebhook(settings.url, webhookBody(run, reasons, settings.format, reportDir));
  if (problem === null)
    output.logger.info(`notified the webhook (${settings.format}): ${reasons.join(', ')}`);
  else output.logger.warn(`notification not sent: ${problem}`);
}
