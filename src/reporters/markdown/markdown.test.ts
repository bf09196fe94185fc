import test from 'ava';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { create as createReporter } from './reporter.js';
import { markdownReporter } from './index.js';

testReporter('reporters/markdown', markdownReporter);

const render = (lab: 'simulated' | 'real') => createReporter().render(sampleRun(lab))[0]?.content ?? '';

test('a simulated run says so at the top; a real one does not', (t) => {
  t.regex(render('simulated').split('\n').slice(0, 4).join('\n'), /SIMULATED LAB/);
  t.notRegex(render('real'), /SIMULATED/);
});

test('table cells escape pipes so a reason cannot break the table', (t) => {
  const content = render('simulated');

  t.true(content.includes('captured \\| detected'));
  t.regex(
    content,
    /\| `child-process` \| captured=true, detected=true \| ready \| no \| no \| n\/a \/ n\/a \| None \| None \| \*\*FAIL\*\* \| not captured \|/,
  );
});

test('the report matches its snapshot', (t) => {
  t.snapshot(render('simulated'));
});

test('#14.12 SIEM- and host-supplied fields cannot forge a heading, raw HTML or leave a code span', (t) => {
  const run = sampleRun('real');
  const forged = '\n\n# PASSED\n<img src=x onerror=alert(1)>`**PASSED**`';
  const hostile = {
    ...run,
    results: run.results.map((r) => ({
      ...r,
      host: { ...r.host, name: `WIN${forged}` },
      signals: r.signals.map((s) => ({
        ...s,
        reason: `ok${forged}`,
        observed: {
          ...s.observed,
          events: s.observed.events.map((e) => ({
            ...e,
            ref: `e${forged}`,
            summary: { [`K${forged}`]: forged },
          })),
          alerts: s.observed.alerts.map((a) => ({ ...a, title: forged, ruleId: forged, level: forged })),
        },
      })),
    })),
  };

  const content = createReporter().render(hostile)[0]?.content ?? '';

  t.false(
    content.split('\n').some((line) => /^#+ PASSED/.test(line)),
    'no forged heading',
  );
  t.false(content.includes('<img'), 'no raw HTML');
  t.false(content.includes('`**PASSED**`'), 'no code span broken out of');
  t.true(content.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the value is still shown, inert');
});

test('#18 a simulated run shows no MET control; a real run names what decided each row', (t) => {
  const simulated = createReporter().render(sampleRun('simulated'))[0]?.content ?? '';
  const real = createReporter().render(sampleRun('real'))[0]?.content ?? '';

  // The control table's rows: between "## Controls" and the next section, less its two header lines.
  const rows = (text: string) =>
    (/## Controls\n\n([^#]*)/.exec(text)?.[1] ?? '')
      .split('\n')
      .filter((l) => l.startsWith('| '))
      .slice(1);
  t.is(rows(simulated).length, 7);
  t.true(rows(simulated).every((row) => row.includes('| **DEMONSTRATION ONLY** |')));
  t.true(
    rows(real).some((row) =>
      row.includes(
        '| **SI-4** System Monitoring | detection | **NOT MET** | child-process on WIN10-LAB-01 (cmstp-local-inf-presetup) | Not observed in this run, so not shown: ',
      ),
    ),
  );
});
