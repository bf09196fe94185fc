import test from 'ava';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { create as createReporter } from './reporter.js';
import { jsonReporter } from './index.js';

testReporter('reporters/json', jsonReporter);

test('run.json round-trips the run exactly', (t) => {
  const [artifact] = createReporter().render(sampleRun());

  t.is(artifact?.path, 'run.json');
  t.deepEqual(JSON.parse(artifact?.content ?? ''), sampleRun());
});
