import test from 'ava';
import type { SiemEvent, TimeWindow } from '../core/index.js';
import { suggestDetections, suggestionFiles, type SuggestDeps, type SuggestPair } from './suggest.js';

const sysmon = 'Microsoft-Windows-Sysmon/Operational';
let next = 0;
function event(at: number, eventId: number, fields: Record<string, unknown>): SiemEvent {
  next += 1;
  return {
    ref: `test:${String(next)}`,
    time: new Date(at).toISOString(),
    indexedAt: null,
    host: 'WIN10-LAB-01',
    eventId,
    fields: { EventID: eventId, Channel: sysmon, ...fields },
  };
}
const proc = (at: number, commandLine: string, image = 'C:\\Windows\\System32\\cmstp.exe') =>
  event(at, 1, { Image: image, CommandLine: commandLine, OriginalFileName: 'CMSTP.EXE' });
const helper = (at: number) =>
  proc(at, 'powershell.exe -NoProfile -EncodedCommand SQBFAFgA', 'C:\\Windows\\powershell.exe');

const window = (from: number, to: number): TimeWindow => ({ since: new Date(from), until: new Date(to) });

/** A pair whose steps span [start, start + 100) and whose emulation is [start + 40, start + 60). */
function pair(
  scenario: string,
  start: number,
  over: Partial<SuggestPair> = {},
): SuggestPair & { readonly start: number } {
  return {
    scenario,
    host: 'WIN10-LAB-01',
    negativeControl: false,
    gaps: [],
    evidence: [],
    window: {
      hostname: 'WIN10-LAB-01',
      steps: window(start, start + 100),
      attack: window(start + 40, start + 60),
    },
    start,
    ...over,
  };
}

/** A SIEM holding `events`: each window search returns those inside it, as a SIEM would. */
function deps(events: readonly SiemEvent[], fail?: string): SuggestDeps & { searched: TimeWindow[] } {
  const searched: TimeWindow[] = [];
  return {
    searched,
    date: '2026-12-05',
    runId: 'run-1',
    eventsIn: (_host, w, ids) => {
      searched.push(w);
      if (fail !== undefined) return Promise.reject(new Error(fail));
      return Promise.resolve(
        events.filter((e) => {
          const t = Date.parse(e.time);
          return ids.includes(e.eventId) && t >= w.since.getTime() && t <= w.until.getTime();
        }),
      );
    },
  };
}

/** The attack (cmstp /au) at 1,050 in a pair at 1,000; the control (cmstp /ns) at 2,050 in a pair at 2,000. */
function scene() {
  const attack = proc(1_050, 'cmstp.exe /s /au C:\\x\\ph0123456789ab.inf');
  const control = proc(2_050, 'cmstp.exe /s /ns C:\\x\\ph0123456789zz.inf');
  const gap = pair('attack', 1_000, {
    gaps: [{ signal: 'cmstp-exec', title: 'cmstp.exe runs', events: [attack] }],
    evidence: [{ signal: 'cmstp-exec', event: attack }],
  });
  const negative = pair('control', 2_000, {
    negativeControl: true,
    evidence: [{ signal: 'cmstp-exec', event: control }],
  });
  return { attack, control, gap, negative };
}

test('a rule is offered when it fires on the gap and is quiet on the negative control and on the steps around the emulation', async (t) => {
  const { attack, control, gap, negative } = scene();
  const clean = proc(1_080, 'cmstp.exe /s /u C:\\x\\ph0123456789ab.inf');
  const d = deps([helper(1_010), attack, clean, control, helper(2_090)]);
  const { offered, withheld } = await suggestDetections([gap, negative], d);
  t.deepEqual(withheld, []);
  const [suggestion] = offered;
  t.is(suggestion?.signal, 'cmstp-exec');
  t.deepEqual(suggestion?.proof.firesOn, [attack.ref]);
  // The control's pair: its cmstp and its helper. The gap's steps: the helper and clean-up, not the attack.
  t.deepEqual(suggestion?.proof.quietOn, { negativeControl: 2, collateral: 2 });
  t.regex(suggestion?.rule.sigma ?? '', /CommandLine\|contains: " \/au"/);
  t.deepEqual(
    suggestionFiles({ offered, withheld }).map((f) => f.path),
    suggestion?.rule.files.filter((f) => !f.endsWith('.es.json') || suggestion.queries.es !== null),
  );
});

test("activity inside the emulation's own span is neither proof nor negative: a second attack process there does not withhold the rule", async (t) => {
  const { attack, control, gap, negative } = scene();
  // cmstp /au again inside [1,040, 1,060) but not in the signal's evidence: the attack's, not the harness's.
  const d = deps([attack, proc(1_055, 'cmstp.exe /s /au C:\\x\\other.inf'), control, helper(1_090)]);
  const { offered, withheld } = await suggestDetections([gap, negative], d);
  t.deepEqual(withheld, []);
  t.is(offered[0]?.proof.quietOn.collateral, 1);
  // The same process in the clean-up's span is the harness's own: it withholds the rule.
  const late = deps([attack, proc(1_070, 'cmstp.exe /s /au C:\\x\\other.inf'), control]);
  const again = await suggestDetections([gap, negative], late);
  t.deepEqual(again.offered, []);
  t.regex(
    again.withheld[0]?.reason ?? '',
    /also in an event of the negative control or of the harness's own steps/,
  );
});

test('no rule without something to be quiet on: no negative control, none of its events found, or none of the steps', async (t) => {
  const { attack, control, gap, negative } = scene();
  const none = await suggestDetections([gap], deps([attack, helper(1_090)]));
  t.regex(none.withheld[0]?.reason ?? '', /no negative control ran in this run/);

  const silent = pair('control', 2_000, { negativeControl: true });
  const empty = await suggestDetections([gap, silent], deps([attack, helper(1_090)]));
  t.regex(empty.withheld[0]?.reason ?? '', /none of the negative control's events were found/);

  const noSteps = await suggestDetections([gap, negative], deps([attack, control]));
  t.regex(noSteps.withheld[0]?.reason ?? '', /none of the harness's own steps' events were found/);
  t.deepEqual(
    [none, empty, noSteps].flatMap((r) => r.offered),
    [],
  );
});

test('a SIEM that cannot be asked withholds every suggestion, saying why; a run with no gap asks it nothing', async (t) => {
  const { gap, negative } = scene();
  const failing = deps([], 'HTTP 503');
  const result = await suggestDetections([gap, negative], failing);
  t.deepEqual(result.offered, []);
  t.regex(result.withheld[0]?.reason ?? '', /could not be read from the SIEM: HTTP 503/);

  const quiet = deps([]);
  t.deepEqual(await suggestDetections([pair('fine', 1_000), negative], quiet), { offered: [], withheld: [] });
  t.deepEqual(quiet.searched, []);
});

test("a fleet gets one rule per scenario and signal: made on the first host, checked on the others' captured events", async (t) => {
  const { attack, control, gap, negative } = scene();
  const twin = proc(1_050, 'cmstp.exe /s /au C:\\x\\ph0123456789cd.inf');
  const other = proc(1_050, 'cmstp.exe /s /ni C:\\x\\ph0123456789ef.inf');
  const on = (host: string, event: SiemEvent) =>
    pair('attack', 1_000, {
      host,
      gaps: [{ signal: 'cmstp-exec', title: 'cmstp.exe runs', events: [event] }],
      evidence: [{ signal: 'cmstp-exec', event }],
    });
  const d = deps([attack, helper(1_010), control]);
  const { offered, withheld } = await suggestDetections(
    [gap, on('WIN10-LAB-02', twin), on('WIN10-LAB-03', other), negative],
    d,
  );
  t.deepEqual(withheld, []);
  t.is(offered.length, 1);
  t.deepEqual(offered[0]?.proof.otherHosts, { fires: ['WIN10-LAB-02'], silent: ['WIN10-LAB-03'] });
  // The control's steps and the first host's: the SIEM is not asked around the other hosts' steps.
  t.is(d.searched.length, 2);
});

test("the INF's writer (the harness's file transfer) is never in a rule for the staged payload, whichever signal it shows up in", async (t) => {
  const { control, negative } = scene();
  const staged = event(1_030, 11, {
    Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
    TargetFilename: 'C:\\ProgramData\\purple-harness\\runs\\ph0123456789ab\\ph0123456789ab.inf',
  });
  const launched = proc(1_050, 'cmstp.exe /s /au C:\\x\\ph0123456789ab.inf');
  const gap = pair('attack', 1_000, {
    gaps: [{ signal: 'payload-file', title: 'The INF is staged', events: [staged] }],
    evidence: [
      { signal: 'payload-file', event: staged },
      { signal: 'cmstp-exec', event: launched },
    ],
  });
  const { offered, withheld } = await suggestDetections([gap, negative], deps([helper(1_010), control]));
  t.deepEqual(withheld, []);
  t.notRegex(offered[0]?.rule.sigma ?? '', /sftp-server/i);
  t.regex(offered[0]?.rule.sigma ?? '', /TargetFilename\|endswith: "?\.inf/);
});
