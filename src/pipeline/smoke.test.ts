import test from 'ava';
import type { ScenarioResult, SmokeStep } from '../core/index.js';
import { smokeStatus } from '../core/index.js';
import { diffState } from './smoke.js';

test('diffState tells apart the values of one key, and sees a file that changed size or time', (t) => {
  const key = 'HKCU:\\Software\\Microsoft\\Connection Manager\\Mappings';
  const before = [
    `key:${key}`,
    `value:${key}|a=1`,
    'file:C:\\x\\rasphone.pbk|10|2026-12-04T00:00:00Z',
    'dir:C:\\x',
  ];
  const after = [
    `key:${key}`,
    `value:${key}|a=1`,
    `value:${key}|b=2`,
    'file:C:\\X\\RASPHONE.PBK|12|2026-12-04T00:01:00Z',
  ];
  t.deepEqual(diffState(before, after), {
    added: [`value:${key}|b=2`],
    removed: ['dir:C:\\x'],
    changed: ['file:C:\\X\\RASPHONE.PBK|12|2026-12-04T00:01:00Z'],
  });
  // A value whose data changed is a change, not an addition: its identity ends at the '='.
  t.deepEqual(diffState([`value:${key}|a=1`], [`value:${key}|a=2`]).changed, [`value:${key}|a=2`]);
});

const step = (outcome: SmokeStep['outcome'], scenario: Partial<ScenarioResult> | null = null): SmokeStep => ({
  id: 'x',
  title: 'x',
  outcome,
  findings: [],
  startedAt: '',
  endedAt: '',
  transcript: [],
  facts: {},
  scenario: scenario as ScenarioResult | null,
  evidence: [],
  events: [],
});

test('a smoke passes only when every step held; a failed detection outranks other problems', (t) => {
  t.is(smokeStatus([step('ok'), step('ok')], false), 'passed');
  t.is(smokeStatus([step('ok'), step('not-run')], false), 'incomplete');
  t.is(smokeStatus([step('ok')], true), 'incomplete');
  t.is(smokeStatus([step('problem'), step('not-run')], false), 'problems');
  t.is(smokeStatus([step('problem'), step('problem', { status: 'failed' })], false), 'failed');
  t.is(smokeStatus([], false), 'incomplete', 'nothing checked is not a pass');
});
