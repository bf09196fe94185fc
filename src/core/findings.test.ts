import test from 'ava';
import { sampleRun } from '../../test/contracts/reporter.js';
import { runFindings } from './findings.js';

test('#18 findings: the verdict in one sentence, the error that caused it, and clean-up', (t) => {
  const run = sampleRun('real');
  const [first] = run.results;
  if (!first) throw new Error('sample has a result');

  const passed = runFindings({
    ...run,
    status: 'passed',
    summary: { ...run.summary, pass: 3, fail: 0, inconclusive: 0 },
  });
  const errored = runFindings({
    ...run,
    status: 'error',
    results: [
      {
        ...first,
        status: 'error',
        error: { code: 'E_SIEM_AUTH', message: 'the token was refused', hint: null },
      },
    ],
  });
  const simulated = runFindings({ ...sampleRun('simulated'), status: 'passed' });

  t.is(passed.headline, 'Findings: all 3 expected signal(s) passed in 1 scenario × host pair(s).');
  t.is(passed.cause, null);
  t.regex(errored.headline, /^Findings: the run stopped on an error; 1 of 3 expected signal\(s\) passed/);
  t.is(errored.cause, 'cmstp-local-inf-presetup on WIN10-LAB-01: E_SIEM_AUTH: the token was refused');
  t.regex(simulated.headline, /on the SIMULATED lab: a demonstration, not evidence of your coverage\.$/);
});
