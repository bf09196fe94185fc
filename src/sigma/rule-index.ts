import { fieldValue, haystack, type CompiledRule, type FlatEvent, type Need } from './engine.js';

/**
 * Finds, for an event, the few rules that can match it, so that thousands of rules cost little more than a
 * handful. Rules are bucketed by the channel and event id their logsource admits; inside a bucket, a rule whose
 * needs are known (CompiledRule.needs: literals one of which any matching event holds) is reached only through a
 * lookup of those literals in the event's fields, and a rule with no known needs is always tried. A candidate is
 * then evaluated in full, so the index may let too many rules through but must never leave one out: the
 * rule-index test compares it with trying every rule on every event.
 */
export class RuleIndex<R extends CompiledRule> {
  readonly #rules: readonly R[];
  readonly #buckets = new Map<string, Bucket>();
  // Which rules an event has already reached, by generation, so no per-event allocation is needed.
  readonly #seen: Uint32Array;
  #generation = 0;

  constructor(rules: readonly R[]) {
    this.#rules = rules;
    this.#seen = new Uint32Array(rules.length);
    rules.forEach((rule, ordinal) => {
      for (const scope of rule.scopes)
        for (const id of scope.eventIds ?? [null]) this.#bucket(scope.channel, id).add(ordinal, rule.needs);
    });
  }

  get size(): number {
    return this.#rules.length;
  }

  /** The rules that match the event, in the order they were given. */
  matching(event: FlatEvent): R[] {
    return this.candidates(event).filter((rule) => rule.matches(event));
  }

  /** The rules that may match the event (every rule that does, and some that don't), in the order given. */
  candidates(event: FlatEvent): R[] {
    const channel = typeof event.Channel === 'string' ? event.Channel : '';
    const eventId = Number(event.EventID);
    const buckets = [
      this.#buckets.get(bucketKey(channel, eventId)),
      this.#buckets.get(bucketKey(channel, null)),
      this.#buckets.get(bucketKey(null, eventId)),
      this.#buckets.get(bucketKey(null, null)),
    ];
    this.#generation = (this.#generation + 1) >>> 0 || 1;
    if (this.#generation === 1) this.#seen.fill(0);
    const found: number[] = [];
    const reach = (ordinal: number): void => {
      if (this.#seen[ordinal] === this.#generation) return;
      this.#seen[ordinal] = this.#generation;
      found.push(ordinal);
    };
    for (const bucket of buckets) bucket?.reach(event, reach);
    return found.sort((a, b) => a - b).map((ordinal) => this.#rules[ordinal] as R);
  }

  #bucket(channel: string | null, eventId: number | null): Bucket {
    const key = bucketKey(channel, eventId);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) this.#buckets.set(key, (bucket = new Bucket()));
    return bucket;
  }
}

/** A bucket per channel (or any channel, for product-only rules) and event id (or any). */
const bucketKey = (channel: string | null, eventId: number | null): string =>
  `${channel ?? '\u0000any'}\u0000${eventId === null ? '*' : String(eventId)}`;

type Postings = Map<string, number[]>;

function post(map: Postings, key: string, ordinal: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [ordinal]);
  else if (list[list.length - 1] !== ordinal) list.push(ordinal);
}

/** The rules of one (channel, event id): those always tried, and per field the literals that reach the rest. */
class Bucket {
  readonly #always: number[] = [];
  readonly #fields = new Map<string, FieldPostings>();

  add(ordinal: number, needs: readonly Need[] | null): void {
    if (needs === null) {
      this.#always.push(ordinal);
      return;
    }
    for (const need of needs) {
      const name = need.field.toLowerCase();
      let postings = this.#fields.get(name);
      if (postings === undefined) this.#fields.set(name, (postings = new FieldPostings(need.field)));
      postings.add(need, ordinal);
    }
  }

  reach(event: FlatEvent, reach: (ordinal: number) => void): void {
    this.#always.forEach(reach);
    for (const postings of this.#fields.values()) postings.reach(event, reach);
  }
}

/** Literal size for `contains` lookups: every substring of this length of the field is looked up. */
const gramLength = 4;
// Characters common in Windows paths and command lines; a gram with fewer of them is rarer.
const commonCharacters = new Set('etaoinsrlcd \\/.:-"'.split(''));

/** The substring of a `contains` literal to look up: the one of gramLength (or the whole) least likely to occur. */
function rarestGram(text: string): string {
  if (text.length <= gramLength) return text;
  let best = text.slice(0, gramLength);
  let bestScore = Infinity;
  for (let i = 0; i + gramLength <= text.length; i += 1) {
    const gram = text.slice(i, i + gramLength);
    let score = 0;
    for (const ch of gram) if (commonCharacters.has(ch)) score += 1;
    if (score < bestScore) [best, bestScore] = [gram, score];
  }
  return best;
}

/** One field's literals: exact values, prefixes and suffixes by length, and contains-grams by length. */
class FieldPostings {
  readonly #field: string;
  readonly #eq: Postings = new Map();
  readonly #prefix = new Map<number, Postings>();
  readonly #suffix = new Map<number, Postings>();
  readonly #grams = new Map<number, Postings>();

  constructor(field: string) {
    this.#field = field;
  }

  add(need: Need, ordinal: number): void {
    if (need.kind === 'eq') post(this.#eq, need.text, ordinal);
    else if (need.kind === 'prefix') post(byLength(this.#prefix, need.text.length), need.text, ordinal);
    else if (need.kind === 'suffix') post(byLength(this.#suffix, need.text.length), need.text, ordinal);
    else {
      const gram = rarestGram(need.text);
      post(byLength(this.#grams, gram.length), gram, ordinal);
    }
  }

  reach(event: FlatEvent, reach: (ordinal: number) => void): void {
    const actual = fieldValue(event, this.#field);
    // A matcher never matches a missing or null field unless its need is null (see engine valueMatcher).
    if (actual === undefined || actual === null) return;
    const text = haystack(actual).toLowerCase();
    this.#eq.get(text)?.forEach(reach);
    for (const [length, postings] of this.#prefix)
      if (length <= text.length) postings.get(text.slice(0, length))?.forEach(reach);
    for (const [length, postings] of this.#suffix)
      if (length <= text.length) postings.get(text.slice(text.length - length))?.forEach(reach);
    for (const [length, postings] of this.#grams)
      for (let i = 0; i + length <= text.length; i += 1)
        postings.get(text.slice(i, i + length))?.forEach(reach);
  }
}

function byLength(map: Map<number, Postings>, length: number): Postings {
  let postings = map.get(length);
  if (postings === undefined) map.set(length, (postings = new Map<string, number[]>()));
  return postings;
}
