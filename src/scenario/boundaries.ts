import { basename } from 'node:path';
import {
  HarnessError,
  activityWindow,
  timeWindowMs,
  tuningElements,
  tuningLabel,
  type Boundary,
  type SignalId,
  type TuningElement,
  type Tuning,
} from '../core/index.js';
import { remoteRoots } from '../render/render.js';
import { sysmonChannel } from '../sigma/taxonomy.js';

/**
 * `tuning plan`: for each of AN0932's mutable elements, two scenarios the embedded lab can run, one on each
 * side of where the tuning draws its line. Which side a case is on is not assumed: our rule that reads the
 * element is run, with the tuning, on the events the case will make, and the case expects exactly that (an
 * alert from that rule, or none). A run of the plan then proves what the tuning lets through; a plan made
 * under one tuning and run under another shows which case the change moved.
 */

export { tuningElements, type TuningElement } from '../core/index.js';

/** `flagged`: the tuning's rule fires on the case; `let-through`: the tuning lets it pass without an alert. */
export type BoundarySide = Boundary['side'];

/** What the planner needs of a loaded rule: which file it came from, its id, and its predicate. */
export interface PlannerRule {
  readonly file: string;
  readonly id: string;
  matches(event: Readonly<Record<string, unknown>>): boolean;
}

export interface BoundaryCase {
  readonly scenario: string;
  /** The case in a few words: "an .ini under ProgramData". */
  readonly label: string;
  /** What the rule is shown for the case: the staged file's path, the registry keys written. */
  readonly judged: readonly string[];
  readonly side: BoundarySide;
  /** What the case expects, in a clause: "ph-inf-staged-in-writable-path.yml must fire". */
  readonly expects: string;
  /** The scenario, as its file will hold it. */
  readonly spec: BoundaryScenario;
}

export interface ElementPlan {
  readonly element: TuningElement;
  readonly key: keyof Tuning;
  /** Our rule that reads the element (file name in detections/, Sigma id), or null for the harness's own. */
  readonly rule: { readonly file: string; readonly id: string } | null;
  readonly cases: readonly BoundaryCase[];
  /** What the tuning lets through among the lab's cases, in one sentence. */
  readonly summary: string;
  /** What the plan cannot make for this element yet (all of it, when there are no cases), or null. */
  readonly notYet: string | null;
}

export interface BoundaryPlan {
  readonly tuning: string;
  readonly elements: readonly ElementPlan[];
}

export interface BoundaryScenario {
  readonly schemaVersion: 1;
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly technique: 'T1218.003';
  readonly analytic: 'AN0932';
  readonly allowElevation?: true;
  readonly inputs?: Record<string, unknown>;
  readonly emulation: Record<string, unknown>;
  readonly expect: readonly {
    signal: SignalId;
    captured: boolean;
    detected?: boolean;
    rule?: string;
  }[];
  /** Which element and side the case is, for the reports (core/scenario-model.ts Boundary). */
  readonly boundary?: Boundary;
  readonly timeouts: { readonly execute: string };
}

export interface PlanInput {
  readonly tuning: Tuning;
  /** Our rules, loaded with this tuning (sigma/load.ts loadOurDetections). */
  readonly rules: readonly PlannerRule[];
  /** The Windows user the plan's registry keys are written for (HKU\<SID>): the embedded lab's. */
  readonly userSid: string;
  /** The payload server's two IPv4 addresses (bind, secondBind), null where it has none. */
  readonly payloadAddresses: { readonly address: string | null; readonly secondAddress: string | null };
}

/** The marker a case's paths are shown with; every run puts its own in the same places. */
const sampleMarker = 'ph0123456789ab';
const serviceName = {
  serviceName: {
    type: 'string',
    default: 'Purple Harness Boundary',
    description: 'Display name of the Connection Manager profile; the run marker is appended.',
  },
};

const not = (side: BoundarySide): string => (side === 'flagged' ? 'fire' : 'not fire');

function ruleFrom(rules: readonly PlannerRule[], file: string): PlannerRule {
  const rule = rules.find((r) => basename(r.file) === file);
  // Our rules load under any tuning that passed its checks (sigma tests): a missing one is a broken install.
  if (rule === undefined)
    throw new HarnessError('E_CONFIG_INVALID', `detections/${file} is not among the loaded rules`, {
      hint: "detections/ ships with purple-harness: reinstall it (npm ci), and keep our rules' files as they are.",
    });
  return rule;
}

function sideOf(rule: PlannerRule, events: readonly Record<string, unknown>[]): BoundarySide {
  return events.some((event) => rule.matches(event)) ? 'flagged' : 'let-through';
}

/**
 * Of the lab's candidates, in order (the first is the usual case), the first and the first after it on the
 * other side; when every candidate is on one side, the first two, and the summary says so.
 */
function pairOf<C extends { readonly side: BoundarySide }>(first: C, rest: readonly C[]): [C, C] {
  return [first, rest.find((c) => c.side !== first.side) ?? rest[0] ?? first];
}

function summaryOf(pair: readonly BoundaryCase[], what: string): string {
  const through = pair.filter((c) => c.side === 'let-through').map((c) => c.label);
  const flagged = pair.filter((c) => c.side === 'flagged').map((c) => c.label);
  if (through.length === 0) return `lets through none of the ${what} the lab makes: ${flagged.join(' and ')}`;
  if (flagged.length === 0)
    return `lets through every ${what} the lab makes, ${through.join(' and ')}: nothing here is flagged`;
  return `lets through ${through.join(', ')}; flags ${flagged.join(', ')}`;
}

/** An element with its pair, and what the pair shows the tuning lets through. */
function proven(
  element: TuningElement,
  key: keyof Tuning,
  rule: ElementPlan['rule'],
  cases: readonly BoundaryCase[],
  summary: string,
): ElementPlan {
  return { element, key, rule, cases, summary, notYet: null };
}

/** An element one of our rules reads: what the tuning lets through among `what`, by that rule's verdicts. */
function ruledBy(
  element: TuningElement,
  key: keyof Tuning,
  rule: NonNullable<ElementPlan['rule']>,
  cases: readonly BoundaryCase[],
  what: string,
): ElementPlan {
  return proven(element, key, rule, cases, summaryOf(cases, what));
}

const mustOrNot = (file: string, side: BoundarySide): string =>
  `${file} must ${side === 'flagged' ? 'fire' : 'stay quiet'}`;

function scenarioOf(
  id: string,
  title: string,
  description: string,
  emulation: Record<string, unknown>,
  expect: BoundaryScenario['expect'],
): BoundaryScenario {
  return {
    schemaVersion: 1,
    id,
    title,
    description,
    technique: 'T1218.003',
    analytic: 'AN0932',
    // An ICMLuaUtil call outside cmstp is opt-in (scenario rules): the COM and TimeWindow cases make one.
    ...('followUp' in emulation || 'com' in emulation ? { allowElevation: true as const } : {}),
    // The INF templates name the profile; a direct COM call has no INF.
    ...('inf' in emulation ? { inputs: serviceName } : {}),
    emulation,
    expect,
    timeouts: { execute: '2m' },
  };
}

// INFPathRegex: where the INF is staged and what it is called; cmstp takes any extension (WinPwnage's tmp.ini).
const infCandidates = [
  { stage: 'programdata', extension: '.inf', label: 'an .inf under ProgramData' },
  { stage: 'programdata', extension: '.ini', label: 'an .ini under ProgramData' },
  { stage: 'program-files', extension: '.inf', label: 'an .inf under Program Files' },
  { stage: 'programdata', extension: '.txt', label: 'a .txt under ProgramData' },
  { stage: 'program-files', extension: '.ini', label: 'an .ini under Program Files' },
] as const;

function infPathElement(input: PlanInput): ElementPlan {
  const file = 'ph-inf-staged-in-writable-path.yml';
  const rule = ruleFrom(input.rules, file);
  const judge = (candidate: (typeof infCandidates)[number]) => {
    const path = `${remoteRoots[candidate.stage]}\\${sampleMarker}\\${sampleMarker}${candidate.extension}`;
    // The staging write as the host's sensor records it: OpenSSH's file transfer creates the file.
    const event = {
      EventID: 11,
      Channel: sysmonChannel,
      Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
      TargetFilename: path,
    };
    return { ...candidate, path, side: sideOf(rule, [event]) };
  };
  const [usual, ...others] = infCandidates;
  const cases = pairOf(judge(usual), others.map(judge)).map((c): BoundaryCase => {
    const id = `boundary-inf-path-${c.stage}-${c.extension.slice(1)}`;
    const spec = scenarioOf(
      id,
      `INFPathRegex boundary: ${c.label} is ${c.side === 'flagged' ? 'flagged' : 'let through'}`,
      `Generated by purple-harness tuning plan (tuning ${tuningLabel(input.tuning)}). Stages the INF as ${c.path.replaceAll(sampleMarker, '<marker>')} and runs cmstp.exe /s /ns on it (a plain profile that runs no command). The tuning's infPathRegex ${c.side === 'flagged' ? 'matches' : 'does not match'} that path, so ${file} must ${not(c.side)} on the file's creation. Make the plan again after changing the tuning.`,
      {
        // A plain profile that runs nothing: the cases differ only in where the file is and its name.
        inf: { template: 'inf/admin-profile.inf.hbs', extension: c.extension, stage: c.stage },
        cmstp: { flags: ['/s', '/ns'] },
        payload: { action: 'none' },
      },
      [{ signal: 'payload-file', captured: true, detected: c.side === 'flagged', rule: rule.id }],
    );
    return {
      scenario: id,
      label: c.label,
      judged: [c.path.replaceAll(sampleMarker, '<marker>')],
      side: c.side,
      expects: mustOrNot(file, c.side),
      spec,
    };
  });
  return ruledBy('INFPathRegex', 'infPathRegex', { file, id: rule.id }, cases, 'staged INF paths');
}

// RegistryKeyAllowlist: a per-user install writes App Paths in the user's hive; /au writes it under HKLM.
const appPaths = 'Software\\Microsoft\\Windows\\CurrentVersion\\App Paths';

function registryCandidates(userSid: string) {
  return [
    {
      name: 'per-user',
      label: "a per-user install's App Paths key (HKU)",
      template: 'inf/profile-install.inf.hbs',
      flags: ['/s', '/ns'],
      // Written by the INF's AddReg (templates/inf/profile-install.inf.hbs), in the installing user's hive.
      keys: [
        `HKU\\${userSid}\\${appPaths}\\CMMGR32.EXE`,
        `HKU\\${userSid}\\${appPaths}\\CMMGR32.EXE\\ProfileInstallPath`,
      ],
      image: 'C:\\Windows\\System32\\cmstp.exe',
    },
    {
      name: 'all-users',
      label: "an all-users install's App Paths key (HKLM)",
      template: 'inf/presetup.inf.hbs',
      flags: ['/s', '/ns', '/au'],
      // Written by cmstp's all-users install, in the elevated COM surrogate.
      keys: [
        `HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe`,
        `HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe\\ProfileInstallPath`,
      ],
      image: 'C:\\Windows\\System32\\dllhost.exe',
    },
  ] as const;
}

function registryElement(input: PlanInput): ElementPlan {
  const file = 'ph-cmmgr32-app-paths-write.yml';
  const rule = ruleFrom(input.rules, file);
  const cases = registryCandidates(input.userSid).map((c): BoundaryCase => {
    const events = c.keys.map((key, i) => ({
      EventID: i === 0 ? 12 : 13,
      Channel: sysmonChannel,
      EventType: i === 0 ? 'CreateKey' : 'SetValue',
      Image: c.image,
      TargetObject: key,
    }));
    const side = sideOf(rule, events);
    const id = `boundary-registry-${c.name}`;
    const spec = scenarioOf(
      id,
      `RegistryKeyAllowlist boundary: ${c.label} is ${side === 'flagged' ? 'flagged' : 'let through'}`,
      `Generated by purple-harness tuning plan (tuning ${tuningLabel(input.tuning)}). Runs cmstp.exe ${c.flags.join(' ')} with a profile that registers itself, writing ${c.keys.join(' and ')}. ${side === 'flagged' ? "At least one of those writes is outside the tuning's registryKeyAllowlist" : "The tuning's registryKeyAllowlist covers those writes"}, so ${file} must ${not(side)} on them. Make the plan again after changing the tuning.`,
      {
        inf: { template: c.template },
        cmstp: { flags: [...c.flags] },
        payload: { action: 'marker-file' },
      },
      [{ signal: 'profile-registry', captured: true, detected: side === 'flagged', rule: rule.id }],
    );
    return { scenario: id, label: c.label, judged: [...c.keys], side, expects: mustOrNot(file, side), spec };
  });
  return ruledBy(
    'RegistryKeyAllowlist',
    'registryKeyAllowlist',
    { file, id: rule.id },
    cases,
    'App Paths writes',
  );
}

// ExternalIPAllowlist: the same remote scriptlet, fetched by IP literal from each of the payload server's
// addresses (no DNS, so only the connection tells them apart).
function ipElement(input: PlanInput): ElementPlan {
  const { address, secondAddress } = input.payloadAddresses;
  if (address === null || secondAddress === null)
    return notYet(
      'ExternalIPAllowlist',
      'externalIpAllowlist',
      'needs the payload server at two IPv4 addresses: give payloadServer a bind and a secondBind (docs/config.md)',
    )();
  const file = 'ph-cmstp-outbound-connection.yml';
  const rule = ruleFrom(input.rules, file);
  const candidates = [
    { name: 'address', from: 'address', ip: address },
    { name: 'second-address', from: 'second-address', ip: secondAddress },
  ] as const;
  const cases = candidates.map((c): BoundaryCase => {
    const event = {
      EventID: 3,
      Channel: sysmonChannel,
      Image: 'C:\\Windows\\System32\\cmstp.exe',
      Initiated: 'true',
      DestinationIp: c.ip,
    };
    const side = sideOf(rule, [event]);
    const label = `a scriptlet fetched from ${c.ip}`;
    const id = `boundary-ip-${c.name}`;
    const spec = scenarioOf(
      id,
      `ExternalIPAllowlist boundary: ${label} is ${side === 'flagged' ? 'flagged' : 'let through'}`,
      `Generated by purple-harness tuning plan (tuning ${tuningLabel(input.tuning)}). Runs cmstp.exe /s /ns with an INF whose scriptlet URL names the payload server by the IP literal ${c.ip}, so cmstp connects there without a DNS query. ${side === 'flagged' ? "No entry of the tuning's externalIpAllowlist holds that address" : "The tuning's externalIpAllowlist holds that address"}, so ${file} must ${not(side)} on the connection. Make the plan again after changing the tuning.`,
      {
        inf: { template: 'inf/remote-scriptlet.inf.hbs' },
        scriptlet: { template: 'sct/marker.sct.hbs', via: 'url', from: c.from },
        cmstp: { flags: ['/s', '/ns'] },
        payload: { action: 'marker-file' },
      },
      [{ signal: 'remote-fetch', captured: true, detected: side === 'flagged', rule: rule.id }],
    );
    return { scenario: id, label, judged: [c.ip], side, expects: mustOrNot(file, side), spec };
  });
  return ruledBy(
    'ExternalIPAllowlist',
    'externalIpAllowlist',
    { file, id: rule.id },
    cases,
    'scriptlet fetches',
  );
}

// COMInterfaceGUIDs: the one auto-elevating class the lab can make, CMSTPLUA, called directly
// (ICMLuaUtil.ShellExec): its surrogate's elevated child is what the rule reads the list against.
const cmstplua = '{3E5FC7F9-9A51-4367-9063-A120244FBEC7}';

function comElement(input: PlanInput): ElementPlan {
  const file = 'ph-cm-elevated-surrogate-child.yml';
  const rule = ruleFrom(input.rules, file);
  // The child as Sysmon 1 records it (the OTRF recording's surrogate command line; sysmon.ts).
  const event = {
    EventID: 1,
    Channel: sysmonChannel,
    Image: 'C:\\Windows\\System32\\cmd.exe',
    ParentImage: 'C:\\Windows\\System32\\dllhost.exe',
    ParentCommandLine: `C:\\windows\\system32\\DllHost.exe /Processid:${cmstplua}`,
    IntegrityLevel: 'High',
  };
  const side = sideOf(rule, [event]);
  const label = `CMSTPLUA ${cmstplua}, ${side === 'flagged' ? 'listed' : 'not listed'}`;
  const id = 'boundary-com-cmstplua';
  const spec = scenarioOf(
    id,
    `COMInterfaceGUIDs boundary: the CMSTPLUA surrogate's elevated child is ${side === 'flagged' ? 'flagged' : 'let through'}`,
    `Generated by purple-harness tuning plan (tuning ${tuningLabel(input.tuning)}). Calls ICMLuaUtil.ShellExec on the auto-elevating CMSTPLUA object ${cmstplua}: DllHost.exe /Processid:${cmstplua} starts the payload command as its elevated child. The tuning's comInterfaceGuids ${side === 'flagged' ? 'lists' : 'does not list'} that class, so ${file} must ${not(side)} on the child. Make the plan again after changing the tuning.`,
    { com: { call: 'ICMLuaUtil.ShellExec' }, payload: { action: 'marker-file' } },
    [{ signal: 'child-process', captured: true, detected: side === 'flagged', rule: rule.id }],
  );
  const cases = [
    { scenario: id, label, judged: [event.ParentCommandLine], side, expects: mustOrNot(file, side), spec },
  ];
  return {
    ...ruledBy('COMInterfaceGUIDs', 'comInterfaceGuids', { file, id: rule.id }, cases, 'COM classes'),
    notYet:
      'the other side needs an elevated COM surrogate for a class the tuning does not list, which the lab cannot make yet (it emulates CMSTPLUA only)',
  };
}

// TimeWindow: the same COM elevation (ICMLuaUtil.ShellExec: the CMSTPLUA surrogate and its child), made once
// just inside the window and once after it. Its events carry no marker, so only the window ties them to cmstp.
const seconds = (ms: number): string => (ms % 1000 === 0 ? `${String(ms / 1000)}s` : `${String(ms)}ms`);

function timeWindowElement(input: PlanInput): ElementPlan {
  const window = timeWindowMs(input.tuning);
  const named =
    window === null
      ? "the default window (cmstp's run and 1 s after it)"
      : `the ${seconds(window)} TimeWindow`;
  // Where the window ends if cmstp itself took no time; a real cmstp run only moves it later.
  const end = activityWindow(0, 0, window).until;
  const candidates = [
    { name: 'inside', afterMs: window === null ? 0 : Math.max(0, window - 1000), afterEndMs: 0 },
    // Also 2 s after cmstp ended: its own run and the 1 s pad after it may stretch the window on a slow host.
    { name: 'after', afterMs: Math.max(window ?? 0, 1000) + 2000, afterEndMs: 2000 },
  ];
  const cases = candidates.map((c): BoundaryCase => {
    const side: BoundarySide = c.afterMs < end ? 'flagged' : 'let-through';
    const label = `a COM elevation ${seconds(c.afterMs)} after cmstp started${c.afterEndMs > 0 ? ` (and ${seconds(c.afterEndMs)} after it ended)` : ''}`;
    const id = `boundary-time-window-${c.name}`;
    const spec = scenarioOf(
      id,
      `TimeWindow boundary: ${label} is ${side === 'flagged' ? 'tied to cmstp' : 'not tied to cmstp'}`,
      `Generated by purple-harness tuning plan (tuning ${tuningLabel(input.tuning)}). Runs cmstp.exe /s /ns, then, ${label.replace(/^a COM elevation /, '')}, calls ICMLuaUtil.ShellExec: the CMSTPLUA surrogate starts the payload command once more. Those events carry no run marker; ${side === 'flagged' ? `inside ${named} they count as cmstp's, so com-elevation is captured and detected` : `they come after ${named} closes, so com-elevation must not be tied to this run`}. Make the plan again after changing the tuning.`,
      {
        inf: { template: 'inf/presetup.inf.hbs' },
        cmstp: { flags: ['/s', '/ns'] },
        followUp: {
          call: 'ICMLuaUtil.ShellExec',
          after: seconds(c.afterMs),
          ...(c.afterEndMs > 0 ? { afterEnd: seconds(c.afterEndMs) } : {}),
        },
        payload: { action: 'marker-file' },
      },
      side === 'flagged'
        ? [{ signal: 'com-elevation', captured: true, detected: true }]
        : [{ signal: 'com-elevation', captured: false }],
    );
    return {
      scenario: id,
      label,
      judged: [`${seconds(c.afterMs)} after cmstp started; ${named}`],
      side,
      expects:
        side === 'flagged'
          ? 'com-elevation must be tied to cmstp and detected'
          : 'com-elevation must not be tied to cmstp',
      spec,
    };
  });
  return proven('TimeWindow', 'timeWindow', null, cases, `ties activity to cmstp within ${named}`);
}

/** An element whose cases need an emulation the embedded lab does not have yet: said, never skipped silently. */
function notYet(element: TuningElement, key: keyof Tuning, why: string): () => ElementPlan {
  return () => ({ element, key, rule: null, cases: [], summary: 'not proven by this plan', notYet: why });
}

/** How each element's pair is made; the one list of them. */
const elementPlans = {
  INFPathRegex: infPathElement,
  ExternalIPAllowlist: ipElement,
  COMInterfaceGUIDs: comElement,
  RegistryKeyAllowlist: registryElement,
  TimeWindow: timeWindowElement,
} as const satisfies Record<TuningElement, (input: PlanInput) => ElementPlan>;

/** Each case's scenario gets its `boundary` block: what the reports group it by. */
function withBoundaries(plan: ElementPlan, plannedUnder: string): ElementPlan {
  return {
    ...plan,
    cases: plan.cases.map((c) => {
      const { timeouts, ...rest } = c.spec;
      const boundary = {
        element: plan.element,
        side: c.side,
        label: c.label,
        judged: [...c.judged],
        plannedUnder,
      };
      return { ...c, spec: { ...rest, boundary, timeouts } };
    }),
  };
}

/** The boundary pairs for a tuning, element by element, in AN0932's order. */
export function planBoundaries(input: PlanInput): BoundaryPlan {
  const tuning = tuningLabel(input.tuning);
  return {
    tuning,
    elements: tuningElements.map((element) => withBoundaries(elementPlans[element](input), tuning)),
  };
}
