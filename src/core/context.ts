import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /**
   * On a terminal only: what the wait `key` still waits for and at most how long is left, shown as a line
   * that counts down in place; null when the wait ends. Absent elsewhere, where waits speak in heartbeats.
   */
  readonly status?: (key: string, wait: { readonly pending: string; readonly leftMs: number } | null) => void;
}

export interface Clock {
  now(): Date;
}

/** Everything time- or identity-dependent is injected, so tests drive polling without waiting. */
export interface RunContext {
  readonly runId: string;
  readonly clock: Clock;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Known secret values; anything printed or written passes through redact() first. */
  readonly secrets: ReadonlySet<string>;
}

export const systemClock: Clock = { now: () => new Date() };

export async function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal === undefined ? undefined : { signal });
}

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function token(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length] ?? 'x';
  return out;
}

/**
 * A run marker is one alphanumeric token (no separators): Splunk, Sentinel and Elastic all index it as a
 * single term, so a marker search is a cheap lookup everywhere (siem-apis.md 1.1).
 */
export function newMarker(): string {
  return `${markerPrefix}${token(12)}`;
}

/** How every marker starts. */
export const markerPrefix = 'ph';

/** Exactly the shape newMarker makes: `ph` and 12 lower-case letters or digits. */
export const markerShape = new RegExp(`^${markerPrefix}[a-z0-9]{12}$`);

/** How long every marker is. */
export const markerLength = markerPrefix.length + 12;

/** Is this a marker the harness could have made? Anything else (`system32`) would match what is not ours. */
export function isMarker(value: string): boolean {
  return markerShape.test(value);
}

export function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${token(6)}`;
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };
