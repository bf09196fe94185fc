import { errorMessage, type IngestEndpoint } from '../core/index.js';
import { setTimeout as delay } from 'node:timers/promises';
import { toEcs } from '../signals/ecs.js';
import { toClassicText, toWindowsXml, type LabEvent } from './sysmon.js';

export interface HecTarget {
  /** Base URL of a Splunk HTTP Event Collector, e.g. http://127.0.0.1:8088 */
  readonly url: string;
  readonly token: string;
}

/**
 * Where the simulated host's events go, in the shape that SIEM's real pipeline delivers them:
 * - `hec`: the local SIEM's HEC endpoint, flat JSON envelopes;
 * - `splunk-hec`: a real Splunk's HEC, XML events with the Sysmon add-on's source and sourcetype, as the
 *   Universal Forwarder sends them;
 * - `elastic-bulk`: `_bulk` ECS documents, as Winlogbeat and Elastic Agent index them.
 */
export type LabSink = IngestEndpoint;

const xmlSource = (channel: string): string => `XmlWinEventLog:${channel}`;

/** One batch as the sink's API takes it. */
export function sinkRequest(
  sink: LabSink,
  batch: readonly LabEvent[],
): { url: string; headers: Record<string, string>; body: string } {
  const channel = (event: LabEvent): string => String(event.fields.Channel);
  // HEC: concatenated envelopes; `fields.lab` is indexed, so every simulated event says where it came from.
  const hec = (token: string, envelope: (event: LabEvent) => Record<string, unknown>) => ({
    url: `${sink.url}/services/collector/event`,
    headers: { Authorization: `Splunk ${token}`, 'Content-Type': 'application/json' },
    body: batch
      .map((event) =>
        JSON.stringify({
          time: event.time.getTime() / 1000,
          host: String(event.fields.Computer),
          source: xmlSource(channel(event)),
          ...envelope(event),
          fields: { lab: 'simulated' },
        }),
      )
      .join('\n'),
  });
  switch (sink.protocol) {
    case 'local-hec':
      return hec(sink.token, (event) => ({
        sourcetype: 'purple-harness:sysmon',
        index: 'main',
        event: event.fields,
      }));
    case 'splunk-hec':
      return hec(sink.token, (event) =>
        sink.securityRendering === 'classic' && channel(event) === 'Security'
          ? {
              source: 'WinEventLog:Security',
              sourcetype: 'WinEventLog',
              index: sink.index,
              event: toClassicText(event),
            }
          : { sourcetype: 'XmlWinEventLog', index: sink.index, event: toWindowsXml(event) },
      );
    case 'elastic-bulk':
      return {
        url: `${sink.url}/_bulk`,
        headers: { Authorization: sink.authorization, 'Content-Type': 'application/x-ndjson' },
        body: `${batch
          .flatMap((event) => [
            JSON.stringify({
              create: {
                _index: `logs-${channel(event) === 'Security' ? 'system.security' : 'windows.sysmon_operational'}-${sink.namespace}`,
              },
            }),
            JSON.stringify({
              ...toEcs(event.time.toISOString(), event.fields),
              labels: { lab: 'simulated' },
            }),
          ])
          .join('\n')}\n`,
      };
  }
}

export interface ShipperStats {
  shipped: number;
  failedBatches: number;
  /** Events the SIEM refused one by one inside a batch it otherwise took (`_bulk` per-item errors). */
  rejected: number;
  lastError: string | null;
}

/** `_bulk` answers 200 even when items failed: `errors: true`, and each failed item has its own error. */
function bulkRejections(text: string): { count: number; first: string | null } {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return { count: 0, first: null };
  }
  if (typeof answer !== 'object' || answer === null || !('items' in answer) || !Array.isArray(answer.items))
    return { count: 0, first: null };
  const failed = answer.items.flatMap((item: unknown) =>
    Object.values(item ?? {}).filter(
      (result: unknown) => typeof result === 'object' && result !== null && 'error' in result,
    ),
  ) as { error: unknown }[];
  const first = failed[0]?.error;
  return {
    count: failed.length,
    first: first === undefined ? null : JSON.stringify(first),
  };
}

/** Ships events to a sink in batches, one POST each, with a few retries on 5xx and network errors. */
export class LabShipper {
  readonly stats: ShipperStats = { shipped: 0, failedBatches: 0, rejected: 0, lastError: null };
  readonly #target: LabSink;
  readonly #ingestDelayMs: number;
  readonly #jitterMs: number;
  readonly #delayed = new Set<NodeJS.Timeout>();
  #queue: LabEvent[] = [];
  #timer: NodeJS.Timeout | null = null;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(target: LabSink, options: { ingestDelayMs?: number; jitterMs?: number } = {}) {
    this.#target = target;
    this.#ingestDelayMs = options.ingestDelayMs ?? 0;
    this.#jitterMs = options.jitterMs ?? 0;
  }

  /** Queues an event; `holdMs` keeps it back first, as a slow forwarder or a lagging index would. */
  ship(event: LabEvent, holdMs = 0): void {
    if (holdMs > 0) {
      const timer = setTimeout(() => {
        this.#delayed.delete(timer);
        this.ship(event);
      }, holdMs);
      this.#delayed.add(timer);
      return;
    }
    this.#queue.push(event);
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.#flushQueue();
    }, 20);
  }

  #flushQueue(): void {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const sending = this.#send(batch).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  async #send(batch: readonly LabEvent[]): Promise<void> {
    const wait = this.#ingestDelayMs + Math.random() * this.#jitterMs;
    if (wait > 0) await delay(wait);
    const { url, headers, body } = sinkRequest(this.#target, batch);
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const response = await fetch(url, { method: 'POST', headers, body });
        if (response.ok) {
          const refused =
            this.#target.protocol === 'elastic-bulk'
              ? bulkRejections(await response.text())
              : { count: 0, first: null };
          this.stats.shipped += batch.length - refused.count;
          this.stats.rejected += refused.count;
          if (refused.first !== null)
            this.stats.lastError = `_bulk refused ${String(refused.count)} event(s): ${refused.first}`;
          return;
        }
        this.stats.lastError = `${this.#target.protocol} answered ${response.status}: ${await response.text()}`;
        if (response.status < 500) break;
      } catch (error) {
        this.stats.lastError = errorMessage(error);
      }
      await delay(50 * attempt);
    }
    this.stats.failedBatches += 1;
  }

  /** Sends whatever is queued and waits for every batch in flight; `discardHeld` drops events still held back. */
  async drain(options: { discardHeld?: boolean } = {}): Promise<void> {
    if (options.discardHeld === true) {
      for (const timer of this.#delayed) clearTimeout(timer);
      this.#delayed.clear();
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#flushQueue();
    await Promise.all([...this.#inFlight]);
  }
}
