import type { ProbeId, SiemEvent, TelemetryQuery } from '../core/index.js';
import { matchesSignal } from './match.js';

/** Short name and FQDN are the same host (siem-apis.md 1.3): `WIN10-LAB-01` matches `win10-lab-01.lab.local`. */
export function sameHost(recorded: string, wanted: string): boolean {
  const a = recorded.toLowerCase();
  const b = wanted.toLowerCase();
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/**
 * Splits one batched query's rows by probe, with the same definitions every connector compiles from, so a
 * SIEM that returns a superset (a looser query, a fuzzy union) never widens what counts as evidence.
 */
export function classify(query: TelemetryQuery, events: readonly SiemEvent[]): Map<ProbeId, SiemEvent[]> {
  const out = new Map<ProbeId, SiemEvent[]>();
  const since = query.since.getTime();
  const until = query.until.getTime();
  for (const event of events) {
    const time = Date.parse(event.time);
    if (!sameHost(event.host, query.host) || !(time >= since && time <= until)) continue;
    for (const probe of query.signals) {
      if (!matchesSignal(probe, event, query.bindings, query)) continue;
      const list = out.get(probe.id) ?? [];
      list.push(event);
      out.set(probe.id, list);
    }
  }
  return out;
}

/** A host name's first label, lower-cased: every name `sameHost` matches shares it. */
export const firstLabel = (host: string): string => (host.split('.')[0] ?? host).toLowerCase();

/**
 * One batched query's rows split per pair, each as `classify` would split that pair's own query: rows are
 * grouped by host first, so a round over hundreds of hosts never tests every row against every pair.
 */
export function classifyBatch(
  queries: readonly TelemetryQuery[],
  events: readonly SiemEvent[],
): Map<ProbeId, SiemEvent[]>[] {
  const byHost = new Map<string, SiemEvent[]>();
  for (const event of events) {
    const key = firstLabel(event.host);
    const list = byHost.get(key) ?? [];
    list.push(event);
    byHost.set(key, list);
  }
  return queries.map((query) => classify(query, byHost.get(firstLabel(query.host)) ?? []));
}
