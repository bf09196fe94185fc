import { request } from 'undici';
import type { RunResult } from '../core/index.js';
import { errorMessage, formatMs, labTag } from '../core/index.js';

export type WebhookFormat = 'json' | 'slack' | 'teams';
export type NotifyOn = 'fail' | 'regression' | 'inconclusive';

/** Which of the configured events a run is: failed assertions, regressions, or results that are not results. */
export function notifyReasons(run: RunResult, on: readonly NotifyOn[]): NotifyOn[] {
  const reasons: NotifyOn[] = [];
  if (on.includes('regression') && run.regressions.length > 0) reasons.push('regression');
  if (on.includes('fail') && run.summary.fail > 0) reasons.push('fail');
  if (
    on.includes('inconclusive') &&
    ['inconclusive', 'incomplete', 'error', 'cleanup-failed', 'interrupted'].includes(run.status)
  )
    reasons.push('inconclusive');
  return reasons;
}

function headline(run: RunResult, reasons: readonly NotifyOn[]): string {
  const simulated = labTag(run.lab);
  const regressions = run.regressions.length > 0 ? `, ${String(run.regressions.length)} REGRESSION(S)` : '';
  return `purple-harness ${run.runId}: ${run.status.toUpperCase()}${regressions} (${reasons.join(', ')})${simulated}`;
}

function lines(run: RunResult): string[] {
  return [
    `${String(run.summary.pass)} pass, ${String(run.summary.fail)} fail, ${String(run.summary.inconclusive)} inconclusive of ${String(run.summary.signals)} signals; MTTD ${formatMs(run.summary.mttdMs)}`,
    ...run.regressions.map(
      (r) =>
        `REGRESSION ${r.signal} in ${r.scenario} on ${r.host} (passed in ${r.previousRunId}${r.tuningChanged === null ? '' : '; the tuning changed since'})`,
    ),
    ...run.results
      .filter((r) => r.status !== 'passed')
      .slice(0, 10)
      .map((r) => `${r.status.toUpperCase()} ${r.scenario.id} on ${r.host.name}`),
  ];
}

/** The request body for each format: generic JSON, a Slack incoming webhook, a Teams Workflows webhook. Pure. */
export function webhookBody(
  run: RunResult,
  reasons: readonly NotifyOn[],
  format: WebhookFormat,
  report: string | null,
): unknown {
  const title = headline(run, reasons);
  const body = lines(run);
  switch (format) {
    case 'json':
      return {
        event: 'purple-harness.run',
        reasons,
        runId: run.runId,
        status: run.status,
        lab: run.lab,
        siem: run.siem.id,
        summary: run.summary,
        regressions: run.regressions,
        report,
      };
    case 'slack':
      return {
        text: title,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: body.join('\n').slice(0, 2900) } },
          ...(report === null
            ? []
            : [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Report: ${report}` }] }]),
        ],
      };
    case 'teams':
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: title, weight: 'Bolder', wrap: true },
                ...body.map((text) => ({ type: 'TextBlock', text, wrap: true })),
                ...(report === null
                  ? []
                  : [{ type: 'TextBlock', text: `Report: ${report}`, isSubtle: true, wrap: true }]),
              ],
            },
          },
        ],
      };
  }
}

/**
 * POSTs the notification. Never throws: a webhook that fails is a warning, and never changes the run's
 * verdicts or exit code. Returns the problem, if any (the URL itself is a secret and is never in it).
 */
export async function sendWebhook(url: string, body: unknown, timeoutMs = 10_000): Promise<string | null> {
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await response.body.dump();
    return response.statusCode >= 200 && response.statusCode < 300
      ? null
      : `the webhook answered HTTP ${String(response.statusCode)}`;
  } catch (error) {
    return `the webhook could not be reached: ${errorMessage(error)}`;
  }
}
