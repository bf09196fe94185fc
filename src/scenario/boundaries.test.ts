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
    payloadAddresses: { address: '127.0.0.1', secondAddress: '127.0.0.2' },
  });
  for (const c of made.elements.flatMap((e) => e.cases)) checkedScenarioText(c.spec, dir, { hint: '' });
  return made;
}

const element = (p: ReturnType<typeof plan>, name: ElementPlan['element']) =>
  p.elements.find((e) => e.element === name);

/** Each case as `<scenario> <side>`, the way the plan's output lists them. */
const sides = (e: ElementPlan | undefined) => e?.cases.map((c) => `${c.scenario} ${c.side}`) ?? [];

test('#21 the default tuning: pairs for INFPathRegex (across the extension), ExternalIPAllowlist, RegistryKeyAllowlist and TimeWindow, one side of COMInterfaceGUIDs and the other said missing, in AN0932 order', (t) => {
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
  // With no TimeWindow, cmstp's own run and 1 s after it: a COM elevation at once is tied, one 3 s on is not.
  t.deepEqual(sides(element(p, 'TimeWindow')), [
    'boundary-time-window-inside flagged',
    'boundary-time-window-after let-through',
  ]);
  t.deepEqual(
    element(p, 'TimeWindow')?.cases.map((c) => c.spec.emulation.followUp),
    [
      { call: 'ICMLuaUtil.ShellExec', after: '0s' },
      { call: 'ICMLuaUtil.ShellExec', after: '3s', afterEnd: '2s' },
    ],
  );
  t.deepEqual(sides(element(p, 'ExternalIPAllowlist')), [
    'boundary-ip-address flagged',
    'boundary-ip-second-address flagged',
  ]);
  // The lab makes one auto-elevating class, CMSTPLUA: one side, and the plan says the other is missing.
  t.deepEqual(sides(element(p, 'COMInterfaceGUIDs')), ['boundary-com-cmstplua flagged']);
  t.regex(element(p, 'COMInterfaceGUIDs')?.notYet ?? '', /a class the tuning does not list/);
});

test('#21 every case expects what our rule decides under the tuning: its alert when flagged, and that rule (by id) silent when let through', (t) => {
  const p = plan();
  const ruleIds = new Map(loadOurDetections().loaded.map((r) => [r.file.split('/').pop(), r.id]));
  for (const e of p.elements.filter((x) => x.rule !== null))
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

test('#21 TimeWindow: the inside case comes a second before the window closes and the other two seconds after it; the window is what decides, with no rule', (t) => {
  const p = plan({ timeWindow: '5s' });
  const e = element(p, 'TimeWindow');
  t.is(e?.rule, null);
  t.deepEqual(
    e?.cases.map((c) => [c.scenario, c.side, c.spec.emulation.followUp, c.spec.expect]),
    [
      [
        'boundary-time-window-inside',
        'flagged',
        { call: 'ICMLuaUtil.ShellExec', after: '4s' },
        [{ signal: 'com-elevation', captured: true, detected: true }],
      ],
      [
        'boundary-time-window-after',
        'let-through',
        { call: 'ICMLuaUtil.ShellExec', after: '7s', afterEnd: '2s' },
        [{ signal: 'com-elevation', captured: false }],
      ],
    ],
  );
  // The late call elevates outside cmstp, which a scenario must opt into.
  t.true(e?.cases.every((c) => c.spec.allowElevation === true));
  // A window under a second: the inside case is at once, and the other still two seconds past cmstp's own pad.
  t.deepEqual(
    element(plan({ timeWindow: '500ms' }), 'TimeWindow')?.cases.map((c) => c.spec.emulation.followUp),
    [
      { call: 'ICMLuaUtil.ShellExec', after: '0s' },
      { call: 'ICMLuaUtil.ShellExec', after: '3s', afterEnd: '2s' },
    ],
  );
});

test('#21 ExternalIPAllowlist: an entry for the second address lets that fetch through and not the first; a payload server with one address gets no pair, and says why', (t) => {
  t.deepEqual(sides(element(plan({ externalIpAllowlist: ['127.0.0.2/32'] }), 'ExternalIPAllowlist')), [
    'boundary-ip-address flagged',
    'boundary-ip-second-address let-through',
  ]);
  t.deepEqual(sides(element(plan({ externalIpAllowlist: ['127.0.0.0/8'] }), 'ExternalIPAllowlist')), [
    'boundary-ip-address let-through',
    'boundary-ip-second-address let-through',
  ]);
  const fetches = element(plan(), 'ExternalIPAllowlist')?.cases.map((c) => c.spec.emulation.scriptlet);
  t.deepEqual(fetches, [
    { template: 'sct/marker.sct.hbs', via: 'url', from: 'address' },
    { template: 'sct/marker.sct.hbs', via: 'url', from: 'second-address' },
  ]);
  const single = planBoundaries({
    tuning: defaultTuning,
    rules: loadOurDetections().loaded,
    userSid: embeddedUserSid,
    payloadAddresses: { address: '10.20.0.5', secondAddress: null },
  });
  t.deepEqual(element(single, 'ExternalIPAllowlist')?.cases, []);
  t.regex(element(single, 'ExternalIPAllowlist')?.notYet ?? '', /secondBind/);
});

test("#21 COMInterfaceGUIDs: a list without CMSTPLUA lets its surrogate's elevated child through", (t) => {
  const p = plan({ comInterfaceGuids: ['{3E000D72-A845-4CD9-BD83-80C07C3B881F}'] });
  t.deepEqual(sides(element(p, 'COMInterfaceGUIDs')), ['boundary-com-cmstplua let-through']);
  t.deepEqual(element(p, 'COMInterfaceGUIDs')?.cases[0]?.spec.emulation, {
    com: { call: 'ICMLuaUtil.ShellExec' },
    payload: { action: 'marker-file' },
  });
  t.true(element(p, 'COMInterfaceGUIDs')?.cases[0]?.spec.allowElevation);
});
