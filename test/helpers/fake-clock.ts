import type { Clock } from '../../src/core/index.js';

/** A clock that only moves when sleep() is called: poll loops run instantly and deterministically. */
export function fakeClock(start = Date.parse('2026-11-23T12:00:00Z')): {
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  slept: number[];
} {
  let now = start;
  const slept: number[] = [];
  return {
    clock: { now: () => new Date(now) },
    sleep: (ms: number) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
    slept,
  };
}
