import test from 'ava';
import type { LoadedScenario } from '../core/index.js';
import { parseShard, planPairs } from './plan.js';

const scenario = (id: string) => ({ spec: { id } }) as unknown as LoadedScenario;
const scenarios = ['c', 'a', 'e', 'b', 'd', 'f', 'g'].map(scenario);
const hosts = [{ name: 'WIN-2' }, { name: 'WIN-1' }, { name: 'WIN-3' }];
const key = (p: { scenario: LoadedScenario; host: { name: string } }) =>
  `${p.scenario.spec.id}@${p.host.name}`;

test('the shards of a plan cover every pair exactly once, for any number of shards', (t) => {
  const all = planPairs(scenarios, hosts).map(key);
  t.is(all.length, 21);
  for (let count = 1; count <= 25; count += 1) {
    const shards = Array.from({ length: count }, (_, i) =>
      planPairs(scenarios, hosts, { index: i + 1, count }).map(key),
    );
    const union = shards.flat();
    t.is(union.length, all.length, `n=${String(count)}: no pair twice`);
    t.deepEqual([...union].sort(), [...all].sort(), `n=${String(count)}: every pair`);
    const sizes = shards.map((s) => s.length);
    t.true(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${String(count)}: balanced`);
  }
});

test('the plan does not depend on the order scenarios and hosts were listed in', (t) => {
  const shard = { index: 2, count: 3 };
  t.deepEqual(
    planPairs([...scenarios].reverse(), [...hosts].reverse(), shard).map(key),
    planPairs(scenarios, hosts, shard).map(key),
  );
});

test('--shard takes i/n with 1 <= i <= n', (t) => {
  t.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  for (const bad of ['0/4', '5/4', '1/0', 'a/b', '2', '-1/3'])
    t.throws(() => parseShard(bad), { message: /--shard takes i\/n/ }, bad);
});
