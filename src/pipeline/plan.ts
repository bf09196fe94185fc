import { HarnessError, type LoadedScenario } from '../core/index.js';

/** `--shard i/n`: this process runs the i-th of n disjoint slices of the scenario x host pairs (1-based). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > 1000 || index < 1 || index > count)
    throw new HarnessError('E_USAGE', `--shard takes i/n with 1 <= i <= n, not "${text}"`, {
      hint: 'In a CI matrix of 4 jobs: --shard 1/4 ... --shard 4/4 (docs/scheduling.md).',
    });
  return { index, count };
}

const pairKey = (scenario: string, host: string): string => `${scenario}\u0000${host}`;

/**
 * Every scenario x host pair in a stable order (scenario id, then host name), and the slice a shard owns:
 * pair k goes to shard (k mod n) + 1. The same scenarios and inventory give every job the same plan, so
 * the shards together cover it exactly once. Pure.
 */
export function planPairs<H extends { readonly name: string }>(
  scenarios: readonly LoadedScenario[],
  hosts: readonly H[],
  shard: Shard | null = null,
): { scenario: LoadedScenario; host: H; shard: number }[] {
  const all = scenarios
    .flatMap((scenario) => hosts.map((host) => ({ scenario, host })))
    .sort((a, b) => {
      const x = pairKey(a.scenario.spec.id, a.host.name);
      const y = pairKey(b.scenario.spec.id, b.host.name);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .map((pair, k) => ({ ...pair, shard: shard === null ? 1 : (k % shard.count) + 1 }));
  return shard === null ? all : all.filter((p) => p.shard === shard.index);
}

/** The set of pair keys a plan holds, for membership checks while running. */
export function pairKeys(
  pairs: readonly { scenario: LoadedScenario; host: { readonly name: string } }[],
): Set<string> {
  return new Set(pairs.map((p) => pairKey(p.scenario.spec.id, p.host.name)));
}

export const keyOf = pairKey;
