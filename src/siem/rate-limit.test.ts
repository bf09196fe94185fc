import test from 'ava';
import { signalCatalog } from '../signals/catalog.js';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { everySignalQuery } from '../../test/contracts/siem-connector.js';
import type { SiemConnector } from '../core/index.js';
import { rateLimited } from './rate-limit.js';

test('queries are spaced 1/perSecond apart, across callers, in order', async (t) => {
  const clock = fakeClock();
  const asked: number[] = [];
  const inner: SiemConnector = {
    id: 'fake',
    describe: () => 'fake',
    queryText: () => '',
    findTelemetry: () => {
      asked.push(clock.clock.now().getTime());
      return Promise.resolve(new Map());
    },
    findDetections: () => {
      asked.push(clock.clock.now().getTime());
      return Promise.resolve([]);
    },
    ingestEndpoint: () => null,
    dispose: () => Promise.resolve(),
  };
  const limited = rateLimited(inner, 4, clock);
  const query = { ...everySignalQuery('phrate0001', new Date()), signals: [signalCatalog['cmstp-exec']] };

  for (let i = 0; i < 3; i += 1) await limited.findTelemetry(query);
  await limited.findDetections({ host: 'h', since: new Date(), until: new Date(), eventRefs: ['x'] });

  const gaps = asked.slice(1).map((at, i) => at - (asked[i] ?? 0));
  t.deepEqual(gaps, [250, 250, 250]);
});

test('the optional calls (trigger, close) pass through the cap, and stay absent when the connector has none', async (t) => {
  const clock = fakeClock();
  const bare: SiemConnector = {
    id: 'bare',
    describe: () => 'bare',
    queryText: () => '',
    findTelemetry: () => Promise.resolve(new Map()),
    findDetections: () => Promise.resolve([]),
    ingestEndpoint: () => null,
    dispose: () => Promise.resolve(),
  };
  t.false('triggerRules' in rateLimited(bare, 4, clock));
  t.false('closeAlerts' in rateLimited(bare, 4, clock));

  const full = rateLimited(
    { ...bare, triggerRules: () => Promise.resolve(['ran X']), closeAlerts: () => Promise.resolve(['a1']) },
    4,
    clock,
  );
  t.deepEqual(await full.triggerRules?.({ host: 'h', since: new Date(), until: new Date(), eventRefs: [] }), [
    'ran X',
  ]);
  t.deepEqual(await full.closeAlerts?.([{ ref: 'a1' }], 'note'), ['a1']);
});
