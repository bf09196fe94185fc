import { stringify } from 'yaml';
import type {
  DetectionSuggestion,
  SiemEvent,
  SignalId,
  Suggestions,
  SuggestionWithheld,
  TimeWindow,
} from '../core/index.js';
import { errorMessage } from '../core/index.js';
import { windowsBaseName } from '../util/winpath.js';
import { firesOn, propose, provenText, type ProofSet, type Proposal } from './propose.js';
import { standingQueries } from './queries.js';
import { eventLabel, sourceFor } from './rule.js';

/** One scenario on one host, as the suggestions need it. */
export interface SuggestPair {
  readonly scenario: string;
  readonly host: string;
  /** A negative control: every signal it expects is expected with no alert. */
  readonly negativeControl: boolean;
  /** Its signals that were captured, expected detected, and not detected: each with its captured events. */
  readonly gaps: readonly {
    readonly signal: SignalId;
    readonly title: string;
    readonly events: readonly SiemEvent[];
  }[];
  /** Every event found for any of its signals, with the signal (the attack's own processes are among them). */
  readonly evidence: readonly { readonly signal: SignalId; readonly event: SiemEvent }[];
  /**
   * Where its events are, on the host's clock: `steps`, everything the harness did on the host for it;
   * `attack`, from cmstp's start to the clean-up's (what the emulation did). null: it never ran.
   */
  readonly window: {
    readonly hostname: string;
    readonly steps: TimeWindow;
    readonly attack: TimeWindow;
  } | null;
}

export interface SuggestDeps {
  /** Every event of the given types on a host within a window, as the SIEM returns it. */
  readonly eventsIn: (
    host: string,
    window: TimeWindow,
    eventIds: readonly number[],
  ) => Promise<readonly SiemEvent[]>;
  /** The run's date (YYYY-MM-DD) and id, written into each rule. */
  readonly date: string;
  readonly runId: string;
}

/** The event types our suggested rules are written for (suggest/rule.ts sourceFor). */
const ruleEventIds = [1, 3, 7, 8, 10, 11, 12, 13, 14, 22, 4688].filter((id) => sourceFor(id) !== null);

const engine = "purple-harness's Sigma engine (the local SIEM's), on the events as the SIEM returned them";

/**
 * For every signal captured but not detected, a detection proven on this run's events, or why none is
 * offered. A rule is offered only when it fires on the captured events it was built from and on none of the
 * negative control's events nor the harness's own steps' events around the emulation; a run with no negative
 * control offers none (nothing would show the rule quiet on legitimate use).
 */
export async function suggestDetections(
  pairs: readonly SuggestPair[],
  deps: SuggestDeps,
): Promise<Suggestions> {
  const gapPairs = pairs.filter((p) => p.gaps.length > 0);
  if (gapPairs.length === 0) return { offered: [], withheld: [] };
  const controls = pairs.filter((p) => p.negativeControl && p.window !== null);
  const negativeControl = await negativeControlEvents(controls, deps);
  if (typeof negativeControl === 'string')
    return { offered: [], withheld: gapPairs.flatMap((pair) => withheldAll(pair, negativeControl)) };
  const withheld: SuggestionWithheld[] = [];
  const offered: DetectionSuggestion[] = [];
  // One rule per scenario and signal, made on the first host where it was a gap (a fleet would otherwise ask
  // the SIEM around every host's steps for the same rule), then checked on the other hosts' captured events.
  const done = new Set<string>();
  for (const pair of gapPairs) {
    const gaps = pair.gaps.filter((gap) => !done.has(gapKey(pair, gap)));
    if (gaps.length === 0) continue;
    for (const gap of gaps) done.add(gapKey(pair, gap));
    const collateral = await collateralEvents(pair, deps);
    if (typeof collateral === 'string') {
      withheld.push(...withheldAll({ ...pair, gaps }, collateral));
      continue;
    }
    for (const gap of gaps) {
      const made = suggestionFor(pair, gap, { negativeControl, collateral, controls }, deps);
      if ('reason' in made) withheld.push(made);
      else offered.push(withOtherHosts(made, gapPairs));
    }
  }
  return { offered, withheld };
}

const gapKey = (pair: SuggestPair, gap: SuggestPair['gaps'][number]): string =>
  `${pair.scenario}\u0000${gap.signal}`;

/** The suggestion checked on the captured events of every other host where the same signal was a gap. */
function withOtherHosts(
  suggestion: DetectionSuggestion,
  gapPairs: readonly SuggestPair[],
): DetectionSuggestion {
  const fires: string[] = [];
  const silent: string[] = [];
  for (const pair of gapPairs) {
    if (pair.scenario !== suggestion.scenario || pair.host === suggestion.host) continue;
    const gap = pair.gaps.find((g) => g.signal === suggestion.signal);
    if (gap === undefined) continue;
    (firesOn(suggestion.rule.sigma, gap.events).length > 0 ? fires : silent).push(pair.host);
  }
  return { ...suggestion, proof: { ...suggestion.proof, otherHosts: { fires, silent } } };
}

/** One gap's rule, proposed and proven (as built, then as written), or why none is offered. */
function suggestionFor(
  pair: SuggestPair,
  gap: SuggestPair['gaps'][number],
  against: {
    readonly negativeControl: readonly SiemEvent[];
    readonly collateral: readonly SiemEvent[];
    readonly controls: readonly SuggestPair[];
  },
  deps: SuggestDeps,
): DetectionSuggestion | SuggestionWithheld {
  const set: ProofSet = {
    positives: gap.events,
    negativeControl: against.negativeControl,
    collateral: against.collateral,
    inAttack: attackProcesses(pair.evidence),
  };
  const proposed = propose(set, (source) => ({
    title: `${gap.title} (suggested by purple-harness)`,
    description: `Suggested by purple-harness run ${deps.runId} for the ${gap.signal} signal of ${pair.scenario} on ${pair.host}, which reached the SIEM with no alert. Proven on that run: it fires on the captured ${eventLabel(source.eventId)} event it was built from and on none of the negative control's or the harness's own steps' events. Review it against your own environment before deploying it.`,
    date: deps.date,
  }));
  const withheld = (reason: string): SuggestionWithheld => ({
    scenario: pair.scenario,
    host: pair.host,
    signal: gap.signal,
    reason,
  });
  if (!proposed.ok) return withheld(proposed.reason);
  const suggestion = suggestionOf(pair, gap, proposed.proposal, {
    negativeControl: against.negativeControl.length,
    collateral: against.collateral.length,
    controls: against.controls.map((c) => `${c.scenario} on ${c.host}`),
  });
  const unproven = provenText(suggestion.rule.sigma, set, proposed.proposal.fires);
  return unproven === null ? suggestion : withheld(unproven);
}

/** Every signal of a pair withheld for one reason. */
const withheldAll = (pair: SuggestPair, reason: string): SuggestionWithheld[] =>
  pair.gaps.map((gap) => ({ scenario: pair.scenario, host: pair.host, signal: gap.signal, reason }));

/**
 * Every event of the negative controls' runs: what they captured and everything else in their steps; or why
 * there is nothing to show a rule quiet on (quiet on nothing proves nothing).
 */
async function negativeControlEvents(
  controls: readonly SuggestPair[],
  deps: SuggestDeps,
): Promise<SiemEvent[] | string> {
  if (controls.length === 0)
    return 'no negative control ran in this run, so no rule could be shown quiet on legitimate use: run one too (cmstp-negative-control-admin-install)';
  const byRef = new Map<string, SiemEvent>();
  try {
    for (const control of controls) {
      for (const { event } of control.evidence) byRef.set(event.ref, event);
      if (control.window === null) continue;
      for (const event of await deps.eventsIn(control.window.hostname, control.window.steps, ruleEventIds))
        byRef.set(event.ref, event);
    }
  } catch (error) {
    return `the negative control's events could not be read from the SIEM: ${errorMessage(error)}`;
  }
  return byRef.size > 0
    ? [...byRef.values()]
    : "none of the negative control's events were found in the SIEM, so no rule could be shown quiet on them";
}

/**
 * The harness's own steps' events for a pair: everything on the host within its steps but outside the
 * emulation itself (staging, preflight, clean-up), and none of its evidence; or why there are none.
 */
async function collateralEvents(pair: SuggestPair, deps: SuggestDeps): Promise<SiemEvent[] | string> {
  const { window } = pair;
  if (window === null) return 'the scenario never ran on the host, so its own steps could not be checked';
  const evidence = new Set(pair.evidence.map((e) => e.event.ref));
  const since = window.attack.since.getTime();
  const until = window.attack.until.getTime();
  let found: readonly SiemEvent[];
  try {
    found = await deps.eventsIn(window.hostname, window.steps, ruleEventIds);
  } catch (error) {
    return `the harness's own steps' events could not be read from the SIEM: ${errorMessage(error)}`;
  }
  const collateral = found.filter((event) => {
    const time = Date.parse(event.time);
    return !evidence.has(event.ref) && (time < since || time >= until);
  });
  return collateral.length > 0
    ? collateral
    : "none of the harness's own steps' events were found in the SIEM, so no rule could be shown quiet on them";
}

/**
 * Which processes are the attack's own, by image name: every process it started (a process-start event in
 * the evidence: cmstp.exe, its children) and every process that acted in it (the DllHost.exe that loaded
 * cmstplua.dll), but not the harness's: the helper that started cmstp (cmstp's parent), and whatever staged
 * the payload (the payload-file signal's writer, the SSH file transfer) unless the attack started it too.
 */
function attackProcesses(evidence: SuggestPair['evidence']): (image: string) => boolean {
  const nameOf = (path: unknown): string[] =>
    typeof path === 'string' && path !== '' ? [windowsBaseName(path).toLowerCase()] : [];
  const isStart = (id: number): boolean => id === 1 || id === 4688;
  const started = new Set(
    evidence
      .filter((e) => isStart(e.event.eventId))
      .flatMap((e) => nameOf(e.event.fields.Image ?? e.event.fields.NewProcessName)),
  );
  const actors = evidence
    .filter((e) => !isStart(e.event.eventId) && e.signal !== 'payload-file')
    .flatMap((e) => nameOf(e.event.fields.Image ?? e.event.fields.SourceImage));
  const harness = evidence
    .filter((e) => e.signal === 'cmstp-exec')
    .flatMap((e) => nameOf(e.event.fields.ParentImage ?? e.event.fields.ParentProcessName))
    .filter((name) => !started.has(name));
  const attack = new Set([...started, ...actors].filter((name) => !harness.includes(name)));
  return (image) => nameOf(image).some((name) => attack.has(name));
}

function suggestionOf(
  pair: SuggestPair,
  gap: SuggestPair['gaps'][number],
  proposal: Proposal,
  quiet: {
    readonly negativeControl: number;
    readonly collateral: number;
    readonly controls: readonly string[];
  },
): DetectionSuggestion {
  const queries = standingQueries(proposal.source, proposal.atoms);
  return {
    scenario: pair.scenario,
    host: pair.host,
    signal: gap.signal,
    rule: {
      id: proposal.document.id,
      title: proposal.document.title,
      sigma: stringify(proposal.document, { lineWidth: 0 }),
      files: Object.keys(filesOf(pair, gap.signal)),
    },
    queries: {
      spl: queries.spl,
      kql: queries.kql,
      es: queries.es === null ? null : JSON.stringify(queries.es, null, 2),
    },
    proof: {
      engine,
      firesOn: [...proposal.fires],
      captured: gap.events.length,
      quietOn: { negativeControl: quiet.negativeControl, collateral: quiet.collateral },
      negativeControls: [...quiet.controls],
      otherHosts: { fires: [], silent: [] },
    },
    notes: [...queries.notes],
  };
}

/** A name as one path segment: anything but letters, digits, `.`, `_` and `-` becomes `_`. */
const segment = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');

/** Where a suggestion's files go, relative to the run's report folder, by what each holds. */
function filesOf(
  pair: Pick<SuggestPair, 'scenario' | 'host'>,
  signal: SignalId,
): Record<string, 'sigma' | 'spl' | 'kql' | 'es'> {
  const base = `suggestions/${segment(pair.scenario)}/${segment(pair.host)}/${signal}`;
  return {
    [`${base}.yml`]: 'sigma',
    [`${base}.spl`]: 'spl',
    [`${base}.kql`]: 'kql',
    [`${base}.es.json`]: 'es',
  };
}

/** Each offered suggestion's files: the Sigma rule and its SPL, KQL and Elasticsearch forms (when it has one). */
export function suggestionFiles(suggestions: Suggestions): { path: string; content: string }[] {
  return suggestions.offered.flatMap((s) =>
    Object.entries(filesOf(s, s.signal)).flatMap(([path, kind]) => {
      const content = kind === 'sigma' ? s.rule.sigma : kind === 'es' ? s.queries.es : s.queries[kind];
      return content === null ? [] : [{ path, content: content.endsWith('\n') ? content : `${content}\n` }];
    }),
  );
}
