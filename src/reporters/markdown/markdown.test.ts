import test from 'ava';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { markdownReporter } from './index.js';

testReporter('reporters/markdown', markdownReporter);

const render = (lab: 'simulated' | 'real') =>
  markdownReporter.create({}).render(sampleRun(lab))[0]?.content ?? '';

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
