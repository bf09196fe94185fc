import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import { notifyReasons, webhookBody } from './webhook.js';

// sampleRun: status failed, 1 fail, no regressions.
const run = sampleRun();

test('a run is notified for what it is: a failed run for fail, a regression for regression', (t) => {
  t.deepEqual(notifyReasons(run, ['fail', 'regression', 'inconclusive']), ['fail']);
  t.deepEqual(notifyReasons(run, ['regression']), []);
  const regressed = {
    ...run,
    regressions: [
      {
        scenario: 'cmstp-local-inf-presetup',
        host: 'WIN10-LAB-01',
        signal: 'child-process' as const,
        previousRunId: 'run-0',
        previousVerdict: 'pass' as const,
        verdict: 'fail' as const,
        tuningChanged: null,
      },
    ],
  };
  t.deepEqual(notifyReasons(regressed, ['regression', 'fail']), ['regression', 'fail']);
  t.deepEqual(
    notifyReasons({ ...run, status: 'inconclusive', summary: { ...run.summary, fail: 0 } }, [
      'fail',
      'inconclusive',
    ]),
    ['inconclusive'],
  );
});

test('the Slack body is text plus blocks; the Teams body an Adaptive Card; the JSON body the run summary', (t) => {
  const slack = webhookBody(run, ['fail'], 'slack', 'reports/x') as {
    text: string;
    blocks: { type: string }[];
  };
  t.regex(slack.text, /^purple-harness 20261123T120000Z-abcdef: FAILED \(fail\) \(SIMULATED LAB\)$/);
  t.deepEqual(
    slack.blocks.map((b) => b.type),
    ['header', 'section', 'context'],
  );

  const teams = webhookBody(run, ['fail'], 'teams', null) as {
    type: string;
    attachments: { contentType: string; content: { type: string; body: { text: string }[] } }[];
  };
  t.is(teams.type, 'message');
  t.is(teams.attachments[0]?.contentType, 'application/vnd.microsoft.card.adaptive');
  t.is(teams.attachments[0]?.content.type, 'AdaptiveCard');
  t.regex(teams.attachments[0]?.content.body[1]?.text ?? '', /1 pass, 1 fail, 1 inconclusive of 3 signals/);

  const json = webhookBody(run, ['fail'], 'json', 'reports/x') as Record<string, unknown>;
  t.like(json, {
    event: 'purple-harness.run',
    runId: run.runId,
    status: 'failed',
    report: 'reports/x',
    reasons: ['fail'],
  });
});
