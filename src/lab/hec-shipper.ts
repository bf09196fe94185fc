import { errorMessage } from '../core/index.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { LabEvent } from './sysmon.js';

export interface HecTarget {
  /** Base URL of a Splunk HTTP Event Collector, e.g. http://127.0.0.1:8088 */
  readonly url: string;
  readonly token: string;
}

export interface ShipperStats {
  shipped: number;
  failedBatches: number;
  lastError: string | null;
}

/**
 * Ships events with the Splunk HTTP Event Collector protocol: concatenated JSON envelopes, one POST per
 * batch, `Authorization: Splunk <token>`. Any HEC endpoint works, ours or a real Splunk.
 */
export class HecShipper {
  readonly stats: ShipperStats = { shipped: 0, failedBatches: 0, lastError: null };
  readonly #target: HecTarget;
  readonly #ingestDelayMs: number;
  readonly #jitterMs: number;
  readonly #delayed = new Set<NodeJS.Timeout>();
  #queue: LabEvent[] = [];
  #timer: NodeJS.Timeout | null = null;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(target: HecTarget, options: { ingestDelayMs?: number; jitterMs?: number } = {}) {
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
    const body = batch
      .map((event) =>
        JSON.stringify({
          time: event.time.getTime() / 1000,
          host: String(event.fields.Computer),
          source: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational',
          sourcetype: 'purple-harness:sysmon',
          index: 'main',
          event: event.fields,
          // Indexed metadata, so every event from the simulator says where it came from.
          fields: { lab: 'simulated' },
        }),
      )
      .join('\n');
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const response = await fetch(`${this.#target.url}/services/collector/event`, {
          method: 'POST',
          headers: { Authorization: `Splunk ${this.#target.token}`, 'Content-Type': 'application/json' },
          body,
        });
        if (response.ok) {
          this.stats.shipped += batch.length;
          return;
        }
        this.stats.lastError = `HEC answered ${response.status}: ${await response.text()}`;
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
