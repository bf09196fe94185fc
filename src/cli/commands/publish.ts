import type { KeyObject } from 'node:crypto';
import type { ReportArtifact, RunResult } from '../../core/index.js';
import { renderDashboard } from '../../report/dashboard.js';
import { indexEntry } from '../../report/history.js';
import { updateRunIndex, writeReports } from '../../report/write.js';
import { reporters, type ReporterId } from '../../reporters/registry.js';
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
    readonly formats: readonly ReporterId[];
    readonly evidence: readonly ReportArtifact[];
    readonly secrets: ReadonlySet<string>;
    readonly signingKey: KeyObject | null;
  },
): Published {
  const reports = options.formats.flatMap((format) => reporters[format].create({}).render(run));
  const written = writeReports(
    options.reportsDir,
    run.runId,
    [...reports, ...options.evidence],
    options.secrets,
    {
      harness: `purple-harness ${run.harness.version}`,
      signingKey: options.signingKey,
    },
  );
  const entry = indexEntry(run, {
    manifestSha256: written.manifestSha256,
    report: options.formats.includes('html') ? `${run.runId}/report.html` : null,
  });
  return { ...written, indexFiles: updateRunIndex(options.reportsDir, entry, renderDashboard) };
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
