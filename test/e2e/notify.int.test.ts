import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quickScenarios, runCli } from '../helpers/cli.js';
import { bodyOf, listenLoopback, send } from '../helpers/http-fake.js';
import { reportTexts, tempDir } from '../helpers/tmp.js';

/** A loopback webhook receiver that answers with `status` and keeps every body it got. */
async function receiver(t: { teardown(fn: () => Promise<void>): void }, status: number) {
  const bodies: { path: string; body: unknown }[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      bodies.push({ path: request.url ?? '', body: JSON.parse(await bodyOf(request)) as unknown });
      send(response, status, { ok: status < 300 });
    })();
  });
  const { url, close } = await listenLoopback(server);
  t.teardown(close);
  return { url, bodies };
}

test('a failed run calls the Slack webhook; the webhook URL, a secret, appears nowhere', async (t) => {
  const cwd = tempDir(t);
  const hook = await receiver(t, 200);
  const token = `T0/B0/${randomBytes(12).toString('hex')}`;
  writeFileSync(join(cwd, 'purple-harness.config.yaml'), 'notify:\n  format: slack\n');
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const result = await runCli(
    ['run', scenario ?? '', '--lab-drop', 'child-process', '--reports-dir', 'reports'],
    {
      cwd,
      env: { PURPLE_HARNESS_WEBHOOK_URL: `${hook.url}/services/${token}` },
    },
  );

  t.is(result.exitCode, 1, result.stderr);
  t.is(hook.bodies.length, 1);
  t.is(hook.bodies[0]?.path, `/services/${token}`);
  const body = hook.bodies[0]?.body as { text: string; blocks: { type: string }[] };
  t.regex(body.text, /: FAILED \(fail\) \(SIMULATED LAB\)$/);
  t.regex(result.stderr, /notified the webhook \(slack\): fail/);
  for (const text of [result.stdout, result.stderr, ...reportTexts(join(cwd, 'reports'))])
    t.false(text.includes(token), 'the webhook URL leaked');
});

test('a webhook that fails is a warning: the verdicts and exit code stay what they were', async (t) => {
  const cwd = tempDir(t);
  const hook = await receiver(t, 500);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const result = await runCli(
    ['run', scenario ?? '', '--lab-drop', 'child-process', '--reports-dir', 'reports'],
    {
      cwd,
      env: { PURPLE_HARNESS_WEBHOOK_URL: `${hook.url}/hook` },
    },
  );

  t.is(result.exitCode, 1, result.stderr);
  t.is(hook.bodies.length, 1);
  t.regex(result.stderr, /notification not sent: the webhook answered HTTP 500/);
});

test('a run that passes sends nothing', async (t) => {
  const cwd = tempDir(t);
  const hook = await receiver(t, 200);
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  const result = await runCli(['run', scenario ?? '', '--reports-dir', 'reports'], {
    cwd,
    env: { PURPLE_HARNESS_WEBHOOK_URL: `${hook.url}/hook` },
  });

  t.is(result.exitCode, 0, result.stderr);
  t.is(hook.bodies.length, 0);
});
