import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTuning, type Tuning } from '../core/index.js';
import { embeddedUserSid } from '../lab/identity.js';
import { loadOurDetections } from '../sigma/load.js';
import { planBoundaries, tuningElements, type ElementPlan } from './boundaries.js';
import { checkedScenarioText } from './scaffold.js';

const dir = mkdtempSync(join(tmpdir(), 'purple-harness-boundaries-'));

/** The plan for a tuning; every scenario it writes must pass the validation `validate` runs. */
function plan(tuning: Partial<Tuning> = {}) {
  const full = { ...defaultTuning, ...tuning };
  const made = planBoundaries({
    tuning: full,
    rules: loadOurDetections(full).loaded,
    userSid: embeddedUserSid,
  });
  for (const c of made.elements.flatMap((e) => e.cases)) checkedScenarioText(c.spec, dir, { hint: '' });
  return made;
}

const element = (p: ReturnType<typeof plan>, name: ElementPlan['element']) =>
  p.elements.find((e) => e.element === name);

/** Each case as `<scenario> <side>`, the way the plan's output lists them. */
const sides = (e: ElementPlan | undefined) => e?.cases.map((c) => `${c.scenario} ${c.side}`) ?? [];

test('#21 the default tuning: a pair for INFPathRegex across the extension, a pair for RegistryKeyAllowlist, and the three elements the lab cannot make yet said so, in AN0932 order', (t) => {
  const p = plan();
  t.is(p.tuning, 'default');
  t.deepEqual(
    p.elements.map((e) => e.element),
    [...tuningElements],
  );
  t.deepEqual(sides(element(p, 'INFPathRegex')), [
    'boundary-inf-path-programdata-inf flagged',
    'boundary-inf-path-programdata-ini let-through',
  ]);
  // Nothing is allowlisted by default: both sides are flagged, and the summary does not pretend otherwise.
  t.deepEqual(sides(element(p, 'RegistryKeyAllowlist')), [
    'boundary-registry-per-user flagged',
    'boundary-registry-all-users flagged',
  ]);
  t.regex(element(p, 'RegistryKeyAllowlist')?.summary ?? '', /^lets through none/);
  for (const name of ['ExternalIPAllowlist', 'COMInterfaceGUIDs', 'TimeWindow'] as const) {
    t.deepEqual(element(p, name)?.cases, [], name);
    t.truthy(element(p, name)?.notYet, name);
  }
});

test('#21 every case expects what our rule decides under the tuning: its alert when flagged, and that rule (by id) silent when let through', (t) => {
  const p = plan();
  const ruleIds = new Map(loadOurDetections().loaded.map((r) => [r.file.split('/').pop(), r.id]));
  for (const e of p.elements)
    for (const c of e.cases) {
      t.deepEqual(
        c.spec.expect.map((x) => ({ detected: x.detected, rule: x.rule })),
        [{ detected: c.side === 'flagged', rule: ruleIds.get(e.rule?.file) }],
        c.scenario,
      );
    }
});

test('#21 a path regex that takes in .ini moves the INF pair to the next path it does not match: an .inf under Program Files', (t) => {
  const p = plan({ infPathRegex: '(?i)\\\\(ProgramData|Users|Temp)\\\\.*\\.in[fi]$' });
  t.deepEqual(sides(element(p, 'INFPathRegex')), [
    'boundary-inf-path-programdata-inf flagged',
    'boundary-inf-path-program-files-inf let-through',
  ]);
  // A regex that matches every path the lab can stage: the pair is the first two, both flagged, and said so.
  const all = plan({ infPathRegex: '.*' });
  t.deepEqual(sides(element(all, 'INFPathRegex')), [
    'boundary-inf-path-programdata-inf flagged',
    'boundary-inf-path-programdata-ini flagged',
  ]);
  t.regex(element(all, 'INFPathRegex')?.summary ?? '', /^lets through none/);
});

test("#21 an allowlist entry for every user's App Paths key lets the per-user case through and not the all-users one; an entry that covers the key but not its value lets nothing through", (t) => {
  const appPaths = 'Software\\Microsoft\\Windows\\CurrentVersion\\App Paths\\CMMGR32.EXE';
  t.deepEqual(
    sides(element(plan({ registryKeyAllowlist: [`HKU\\*\\${appPaths}*`] }), 'RegistryKeyAllowlist')),
    ['boundary-registry-per-user let-through', 'boundary-registry-all-users flagged'],
  );
  // The per-user install also writes ProfileInstallPath under the key: the rule fires on that write.
  t.deepEqual(
    sides(element(plan({ registryKeyAllowlist: [`HKU\\*\\${appPaths}`] }), 'RegistryKeyAllowlist')),
    ['boundary-registry-per-user flagged', 'boundary-registry-all-users flagged'],
  );
});
