import test from 'ava';
import { activityWindow, processWindowPadMs } from './timing.js';

test('#21 the window tied to cmstp: its run and the pads by default; the TimeWindow after its start when that is later', (t) => {
  const start = 1_000_000;
  const end = start + 300;
  const { before, after } = processWindowPadMs;
  t.deepEqual(activityWindow(start, end, null), { since: start - before, until: end + after });
  t.deepEqual(activityWindow(start, end, 5_000), { since: start - before, until: start + 5_000 });
  // A TimeWindow shorter than cmstp's own run never cuts that run or its pad short.
  t.deepEqual(activityWindow(start, end, 100), { since: start - before, until: end + after });
});
