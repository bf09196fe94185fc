import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/core/index.js';
import { startPayloadServer } from '../../src/payload-server/server.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { targetLockPath } from '../../src/render/render.js';
import { runOnLab, startTestLab } from '../helpers/lab.js';
import { pwshPath, pwshRequired } from '../helpers/pwsh.js';

/*
 * The script-executing lab target (#15): every built-in scenario runs with its remote scripts executed, unmodified,
 * by PowerShell 7 behind the lab's SSH server (src/lab/script-lab.ts), and gives the same signals as the
 * in-process simulator that carries out each operation itself. CI sets PURPLE_HARNESS_REQUIRE_PWSH=1.
 */

const pwsh = pwshPath();

const scenarioFiles = readdirSync(builtinScenariosDir())
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => join(builtinScenariosDir(), name));

/** What a run says about each signal, without the run's own times and ids. */
function signalsOf(run: RunResult) {
  return run.results.flatMap((r) =>
    r.signals.map((s) => ({
      scenario: r.scenario.id,
      signal: s.id,
      verdict: s.verdict,
      captured: s.observed.captured,
      detected: s.observed.detected,
      eventIds: [...new Set(s.observed.events.map((e) => e.eventId))].sort(),
      rules: [...new Set(s.observed.alerts.map((a) => a.ruleId))].sort(),
    })),
  );
}

function failedSteps(run: RunResult): string[] {
  return run.results.flatMap((r) =>
    (r.execution?.steps ?? []).filter((s) => !s.ok).map((s) => `${r.scenario.id} ${s.step}: ${s.detail}`),
  );
}

if (pwsh === null && !pwshRequired) {
  test.skip('script-executing target NOT RUN: pwsh is not installed (.ci/run installs PowerShell 7 with dotnet tool install)', () => {});
} else {
  test('#15 every built-in scenario passes with its scripts run by PowerShell, with the same signals as the in-process simulator', async (t) => {
    // Every built-in scenario, each script a real PowerShell start (seconds each on a loaded 2-core CI
    // machine): many minutes, far longer than ava's default inactivity limit.
    t.timeout(20 * 60_000);
    if (pwsh === null)
      throw new Error('PowerShell 7 is required (PURPLE_HARNESS_REQUIRE_PWSH=1) but pwsh was not found');
    const payloadServer = await startPayloadServer({
      bind: '127.0.0.1',
      port: 0,
      advertisedHost: 'payload.lab.test',
    });
    const dns = { [payloadServer.advertisedHost]: '127.0.0.1' };
    const executing = await startTestLab({ pwsh, dns });
    const modelled = await startTestLab({ dns });
    t.teardown(() => executing.close());
    t.teardown(() => modelled.close());
    t.teardown(() => payloadServer.close());
    const scenarios = loadScenariosOrThrow(scenarioFiles);

    const ran = await runOnLab({ scenarios, hosts: [executing.host], siem: executing.siem, payloadServer });
    const simulated = await runOnLab({
      scenarios,
      hosts: [modelled.host],
      siem: modelled.siem,
      payloadServer,
    });

    t.is(ran.results.length, scenarioFiles.length);
    t.is(ran.status, 'passed', failedSteps(ran).join('\n'));
    t.deepEqual(failedSteps(ran), []);
    t.true(ran.results.every((r) => r.execution?.cleanup.verified === true));
    // The canary each run wrote reached the SIEM, and the host lock was released.
    t.true(ran.results.every((r) => r.pipeline.canary?.event != null));
    t.false(executing.lab.host.drive.exists(targetLockPath));
    t.is(simulated.status, 'passed');
    t.deepEqual(signalsOf(ran), signalsOf(simulated));
  });
}
