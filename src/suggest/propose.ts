import { parse } from 'yaml';
import { isSecurityEventId, type SiemEvent } from '../core/index.js';
import { SigmaRule } from '../sigma/rule.js';
import { sysmonChannel } from '../sigma/taxonomy.js';
import { atomsOf, type Atom } from './atoms.js';
import { compiled, eventLabel, sigmaDocument, sourceFor, type RuleSource } from './rule.js';

/** The events a suggestion is proven on: the signal's captured events, and what it must stay quiet on. */
export interface ProofSet {
  readonly positives: readonly SiemEvent[];
  /** The negative control's events (a scenario of this run that expects no alert at all). */
  readonly negativeControl: readonly SiemEvent[];
  /** The harness's own steps' events around the emulation (staging, preflight, clean-up). */
  readonly collateral: readonly SiemEvent[];
  /** Whether a process (its image path) is the attack's own rather than the harness's (see atomsOf). */
  readonly inAttack: (image: string) => boolean;
}

export interface Proposal {
  readonly source: RuleSource;
  readonly atoms: readonly Atom[];
  readonly document: SigmaRule;
  /** The refs of the captured events the rule fires on (at least the one it was built from). */
  readonly fires: readonly string[];
}

export type Proposed =
  { readonly ok: true; readonly proposal: Proposal } | { readonly ok: false; readonly reason: string };

type About = (source: RuleSource, atoms: readonly Atom[]) => Parameters<typeof sigmaDocument>[2];

/**
 * An event as the rule engine reads it: its fields, with the event id and channel the connector reported.
 * Connectors give the id on every event; the channel follows from it (a four-digit id is the Security log's).
 */
function viewOf(event: SiemEvent): Record<string, unknown> {
  const channel = isSecurityEventId(event.eventId) ? 'Security' : sysmonChannel;
  return { ...event.fields, EventID: event.eventId, Channel: event.fields.Channel ?? channel };
}

/**
 * A rule for the signal, built from one captured event's stable fields and made as small as it can be while
 * it still fires on that event and on no negative: each test is dropped in turn, lightest first, when the
 * rule without it stays quiet on every negative. Every captured event is tried as the seed; the rule that
 * fires on the most captured events wins, then the one with fewer tests. Each candidate is evaluated by the
 * local SIEM's own Sigma engine on the events as the SIEM returned them, so what is offered is what was
 * proven. A signal no rule can be proven for gets the reason instead.
 */
export function propose(set: ProofSet, about: About): Proposed {
  const negatives = [...set.negativeControl, ...set.collateral].map(viewOf);
  const positives = set.positives.map((event) => ({ ref: event.ref, view: viewOf(event), event }));
  const reasons = new Set<string>();
  let best: Proposal | null = null;
  for (const seed of positives) {
    const source = sourceFor(seed.event.eventId);
    if (source === null) {
      reasons.add(`no Sigma log source is written for event ${String(seed.event.eventId)}`);
      continue;
    }
    const atoms = dedupe(atomsOf(seed.event.fields, seed.event.eventId, set.inAttack));
    const firesOn = (kept: readonly Atom[]) => {
      const rule = compiled(sigmaDocument(source, kept, about(source, kept)));
      return (view: Record<string, unknown>): boolean => rule.matches(view);
    };
    const holds = (kept: readonly Atom[]): boolean => {
      if (kept.length === 0) return false;
      const fires = firesOn(kept);
      return fires(seed.view) && !negatives.some(fires);
    };
    if (atoms.length === 0) {
      reasons.add(`a captured ${eventLabel(source.eventId)} event has no field that is stable across runs`);
      continue;
    }
    if (!holds(atoms)) {
      reasons.add(
        firesOn(atoms)(seed.view)
          ? `every stable field of a captured ${eventLabel(source.eventId)} event is also in an event of the negative control or of the harness's own steps`
          : `the rule built from a captured ${eventLabel(source.eventId)} event does not fire on it`,
      );
      continue;
    }
    const kept = minimize(atoms, holds);
    const fires = firesOn(kept);
    const proposal: Proposal = {
      source,
      atoms: kept,
      document: sigmaDocument(source, kept, about(source, kept)),
      fires: positives.filter((p) => fires(p.view)).map((p) => p.ref),
    };
    if (best === null || better(proposal, best)) best = proposal;
  }
  if (best !== null) return { ok: true, proposal: best };
  return {
    ok: false,
    reason:
      set.positives.length === 0
        ? 'no captured event to build a rule from'
        : [...reasons].join('; ') || 'no rule could be built',
  };
}

/**
 * Drops each test in turn, lightest first, when the rule still holds without it. The last test of what ran
 * or what was written (weight 3) always stays: `CommandLine|contains: " /au"` alone would separate this
 * run's events too, but as a detection it would fire on any program given that switch.
 */
function minimize(atoms: readonly Atom[], holds: (kept: readonly Atom[]) => boolean): Atom[] {
  const anchored = atoms.some((a) => a.weight === 3);
  let kept = [...atoms];
  for (const atom of [...atoms].sort((a, b) => a.weight - b.weight)) {
    const without = kept.filter((a) => a !== atom);
    if ((!anchored || without.some((a) => a.weight === 3)) && holds(without)) kept = without;
  }
  return kept;
}

/** More captured events fired on; then fewer tests; then Sysmon's over the Security log's (richer fields). */
function better(a: Proposal, b: Proposal): boolean {
  if (a.fires.length !== b.fires.length) return a.fires.length > b.fires.length;
  if (a.atoms.length !== b.atoms.length) return a.atoms.length < b.atoms.length;
  return !isSecurityEventId(a.source.eventId) && isSecurityEventId(b.source.eventId);
}

function dedupe(atoms: readonly Atom[]): Atom[] {
  const seen = new Set<string>();
  return atoms.filter((a) => {
    const key = `${a.field}|${a.op}|${a.value.toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The refs of the events a rule, as written, fires on. */
export function firesOn(text: string, events: readonly SiemEvent[]): string[] {
  const rule = compiled(SigmaRule.parse(parse(text)));
  return events.filter((e) => rule.matches(viewOf(e))).map((e) => e.ref);
}

/**
 * The rule as written (YAML text) proven again: parsed and compiled afresh, it must fire on exactly the
 * captured events the proposal named and on no negative. What is offered is the text, so the text is proven.
 */
export function provenText(text: string, set: ProofSet, expected: readonly string[]): string | null {
  const fires = firesOn(text, set.positives);
  if (fires.join('\n') !== expected.join('\n'))
    return `the rule as written fires on ${String(fires.length)} captured events, not the ${String(expected.length)} it was proven on`;
  const loud = firesOn(text, [...set.negativeControl, ...set.collateral]);
  return loud.length === 0 ? null : `the rule as written fires on ${String(loud.length)} negative events`;
}
