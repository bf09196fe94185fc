import test from 'ava';
import { writeFileSync } from 'node:fs';
import { defaultTuning } from '../../src/core/index.js';
import { embeddedUserSid } from '../../src/lab/identity.js';
import { planBoundaries } from '../../src/scenario/boundaries.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { checkedScenarioText } from '../../src/scenario/scaffold.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { runEmulation } from '../../src/execute/run-emulation.js';
import { sshExecutor } from '../../src/executors/ssh/index.js';
import { SshExecutorOptions } from '../../src/executors/ssh/schema.js';
import { newMarker, silentLogger, systemClock } from '../../src/core/index.js';
import { renderEmulation } from '../../src/render/render.js';
import { pluginContext, runOnLab, startTestLab } from '../helpers/lab.js';
import { labTargets } from '../helpers/pwsh.js';
import { tempDir } from '../helpers/tmp.js';

/*
 * #21 TimeWindow's boundary pair: cmstp runs, then the CMSTPLUA object is called again, at once or 3 s after
 * cmstp started. On the script-executing target the com-shellexec template runs in PowerShell 7 for both
 * calls; what is checked is when the late call was made on the host's clock, and what the window made of it.
 */

const targets = labTargets(test, 'the TimeWindow follow-up call');

/** The default tuning's TimeWindow cases, written with 3 s deadlines, loaded as a run would load them. */
function timeWindowCases(dir: string) {
  const plan = planBoundaries({
    tuning: defaultTuning,
    rules: loadOurDetections().loaded,
    userSid: embeddedUserSid,
    payloadAddresses: { address: '127.0.0.1', secondAddress: '127.0.0.2' },
  });
  const cases = plan.elements.find((e) => e.element === 'TimeWindow')?.cases ?? [];
  const files = cases.map((c) => {
    const spec = { ...c.spec, timeouts: { execute: '2m', capture: '3s', detect: '3s' } };
    const { file, text } = checkedScenarioText(spec, dir, { hint: '' });
    writeFileSync(file, text);
    return file;
  });
  return loadScenariosOrThrow(files);
}

for (const target of targets) {
  test(`#21 ${target.name}: the follow-up ICMLuaUtil call is made when the scenario says, with its own marker; inside the window its COM elevation is cmstp's, 3 s on it is not`, async (t) => {
    const lab = await startTestLab(target.options);
    t.teardown(() => lab.close());
    const run = await runOnLab({ scenarios: timeWindowCases(tempDir(t)), hosts: [lab.host], siem: lab.siem });

    const verdicts = Object.fromEntries(
      run.results.map((r) => [r.scenario.id, r.signals.map((s) => `${s.id} ${s.verdict}`)]),
    );
    t.deepEqual(verdicts, {
      'boundary-time-window-inside': ['com-elevation pass'],
      'boundary-time-window-after': ['com-elevation pass'],
    });
    for (const result of run.results) {
      const execution = result.execution;
      const followUp = execution?.steps.find((s) => s.step === 'follow-up');
      t.truthy(followUp, `${result.scenario.id}: no follow-up step`);
      t.true(followUp?.ok, followUp?.detail);
      // The step's start is on our clock (the host's less the skew): back on the host's, beside cmstp's times.
      const onHost = Date.parse(followUp?.startedAt ?? '') + (execution?.facts?.sensors?.clockSkewMs ?? 0);
      const sinceStart = onHost - Date.parse(execution?.cmstp?.startedAt ?? '');
      const sinceEnd = onHost - Date.parse(execution?.cmstp?.endedAt ?? '');
      // The late call no sooner than 3 s after cmstp started and 2 s after it ended; the other once cmstp ended, inside its 1 s pad
      // (cmstp itself may take a second or more on a loaded machine, so its start is not the measure).
      if (result.scenario.id === 'boundary-time-window-after')
        t.true(
          sinceStart >= 3000 && sinceEnd >= 2000,
          `${String(sinceStart)} ms after cmstp started, ${String(sinceEnd)} ms after it ended`,
        );
      else t.true(sinceEnd >= -50 && sinceEnd < 1000, `${String(sinceEnd)} ms after cmstp ended`);
      t.true(execution?.cleanup.verified, execution?.cleanup.residue.join(', '));
    }
    // Inside the window the late call's surrogate is the evidence; outside, none of it is tied to the run.
    const inside = run.results.find((r) => r.scenario.id === 'boundary-time-window-inside');
    t.true((inside?.signals[0]?.observed.events.length ?? 0) > 0);
  });
}

// A follow-up whose command leaves no marker (here: the script is told to look for a file nothing writes) is an
// emulation that did not complete: said as such, cmstp's own run kept, clean-up run and verified.
test("#21 a follow-up call that leaves no marker is a failed emulation that keeps cmstp's record and still cleans up", async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  const [withFollowUp] = timeWindowCases(tempDir(t));
  if (withFollowUp === undefined) throw new Error('no TimeWindow case');
  const rendered = renderEmulation(withFollowUp, { marker: newMarker() });
  const run = rendered.operations.run;
  const broken = {
    ...rendered,
    operations: {
      ...rendered.operations,
      run: { ...run, script: run.script.replace(/-late\.txt'/, "-never.txt'") },
    },
  };
  t.not(broken.operations.run.script, run.script);

  const execution = await runEmulation(
    (await sshExecutor.load()).create(SshExecutorOptions.parse({}), pluginContext()),
    lab.host,
    broken,
    {
      clock: systemClock,
      logger: silentLogger,
      signal: new AbortController().signal,
      secrets: new Set<string>(),
    },
  );

  t.is(execution.status, 'failed');
  t.regex(
    execution.reason,
    /the follow-up call ICMLuaUtil\.ShellExec at .* returned 0; its marker file is missing/,
  );
  t.false(execution.steps.find((s) => s.step === 'follow-up')?.ok);
  t.truthy(execution.cmstp?.startedAt, "cmstp's own run is kept");
  t.true(execution.cleanup.verified, execution.cleanup.residue.join(', '));
});

// On a slow host cmstp's own run stretches the window (its end and 1 s after it): the case meant to come after
// the window waits 2 s past cmstp's end too, so it stays outside, and is still not tied to the run.
test('#21 in-process simulator: with a cmstp that takes 2.5 s, the after-window call still comes 2 s after cmstp ended, and is not tied to the run', async (t) => {
  const lab = await startTestLab({ cmstp: { installMs: 2500 } });
  t.teardown(() => lab.close());
  const after = timeWindowCases(tempDir(t)).filter((s) => s.spec.id === 'boundary-time-window-after');
  const run = await runOnLab({ scenarios: after, hosts: [lab.host], siem: lab.siem });
  const result = run.results[0];
  const execution = result?.execution;
  const followUp = execution?.steps.find((s) => s.step === 'follow-up');
  const onHost = Date.parse(followUp?.startedAt ?? '') + (execution?.facts?.sensors?.clockSkewMs ?? 0);
  const cmstpRan =
    Date.parse(execution?.cmstp?.endedAt ?? '') - Date.parse(execution?.cmstp?.startedAt ?? '');
  t.true(cmstpRan >= 2500, `cmstp ran ${String(cmstpRan)} ms`);
  t.true(onHost - Date.parse(execution?.cmstp?.endedAt ?? '') >= 2000, 'the call came 2 s after cmstp ended');
  t.deepEqual(
    result?.signals.map((s) => `${s.id} ${s.verdict}`),
    ['com-elevation pass'],
  );
});
