import { z } from 'zod';
import {
  SiemError,
  errorMessage,
  refuseIfInterrupted,
  type DetectionQuery,
  type ProbeId,
  type SiemAlert,
  type SiemConnector,
  type SiemEvent,
  type TelemetryQuery,
} from '../core/index.js';
import { classify } from '../signals/classify.js';
import { redact } from '../util/redact.js';
import { compileEsBatch, compileKql, compileSplBatch } from '../signals/compile-backends.js';
import { SeenEvents } from '../signals/link.js';

/**
 * `purple-harness.siem/v1`: one JSON request, one JSON answer, for SIEMs the harness has no connector for
 * (docs/connectors/command.md). The command plug-in carries it over stdin/stdout; other carriers may too.
 */
export const protocol = 'purple-harness.siem/v1';

/** The query languages a bridge may ask to have each request's compiled query in. */
export const bridgeDialects = ['none', 'splunk', 'elastic', 'sentinel'] as const;
export type BridgeDialect = (typeof bridgeDialects)[number];

const ErrorAnswer = z.looseObject({
  error: z.looseObject({ message: z.string(), retryable: z.boolean().default(false) }),
});

export const TelemetryAnswer = z.looseObject({
  events: z.array(
    z.looseObject({
      ref: z.string().min(1),
      time: z.iso.datetime({ offset: true }),
      host: z.string(),
      eventId: z.number().int(),
      fields: z.record(z.string(), z.unknown()),
      indexedAt: z.iso.datetime({ offset: true }).nullable().default(null),
    }),
  ),
});

export const DetectionAnswer = z.looseObject({
  alerts: z.array(
    z.looseObject({
      ref: z.string().min(1),
      ruleId: z.string(),
      title: z.string(),
      level: z.string().default('unknown'),
      time: z.string(),
      eventRefs: z.array(z.string()),
    }),
  ),
});

function compiled(dialect: BridgeDialect, query: TelemetryQuery): unknown {
  switch (dialect) {
    case 'none':
      return null;
    case 'splunk':
      return compileSplBatch(query);
    case 'elastic':
      return compileEsBatch(query);
    case 'sentinel':
      // KQL has no cheap OR across tables: one query per signal, for the bridge to union or run in turn.
      return query.signals.map((signal) => compileKql(signal, query));
  }
}

/** A telemetry request: the window, the marker, every pending probe, and the compiled query if asked. */
export function telemetryRequest(query: TelemetryQuery, dialect: BridgeDialect): Record<string, unknown> {
  return {
    protocol,
    op: 'findTelemetry',
    query: {
      host: query.host,
      marker: query.marker,
      since: query.since.toISOString(),
      until: query.until.toISOString(),
      processWindow: {
        since: query.processWindow.since.toISOString(),
        until: query.processWindow.until.toISOString(),
      },
      bindings: query.bindings,
      probes: query.signals,
      dialect,
      compiled: compiled(dialect, query),
    },
  };
}

/** An alert request: the events found so far, so the bridge can match alerts to them. */
export function detectionRequest(
  query: DetectionQuery,
  events: readonly SiemEvent[],
): Record<string, unknown> {
  return {
    protocol,
    op: 'findDetections',
    query: { host: query.host, since: query.since.toISOString(), until: query.until.toISOString(), events },
  };
}

/**
 * A bridge's answer, checked: an `{"error": …}` answer is a SiemError (retryable when it says so); an answer
 * outside the protocol is one too. `say` names the plug-in and redacts.
 */
export function readAnswer<S extends z.ZodType>(
  answer: unknown,
  schema: S,
  say: (text: string) => string,
): z.output<S> {
  const failed = ErrorAnswer.safeParse(answer);
  if (failed.success)
    throw new SiemError('E_SIEM_QUERY', say(failed.data.error.message), {
      retryable: failed.data.error.retryable,
    });
  const parsed = schema.safeParse(answer);
  if (!parsed.success)
    throw new SiemError(
      'E_SIEM_QUERY',
      say(`answer does not follow ${protocol}: ${errorMessage(parsed.error)}`),
    );
  return parsed.data;
}

/** Whether the answer is an `{"error": …}` frame (a bridge may exit non-zero with one). */
export function isErrorAnswer(answer: unknown): boolean {
  return ErrorAnswer.safeParse(answer).success;
}

/** Only links to events the harness asked about count: a bridge can never widen the evidence. */
export function askedAlerts(answer: z.output<typeof DetectionAnswer>, query: DetectionQuery): SiemAlert[] {
  const asked = new Set(query.eventRefs);
  return answer.alerts.flatMap((alert) => {
    const eventRefs = alert.eventRefs.filter((ref) => asked.has(ref));
    return eventRefs.length === 0 ? [] : [{ ...alert, host: query.host, eventRefs }];
  });
}

/**
 * A connector speaking the protocol over some carrier (a program's stdin/stdout, HTTPS): the carrier sends one
 * request and returns the checked answer; the requests, the classification and the evidence rules live here.
 */
export abstract class BridgeConnector implements SiemConnector {
  abstract readonly id: string;
  readonly #dialect: BridgeDialect;
  readonly #label: string;
  readonly #secrets: ReadonlySet<string>;
  /** Events returned so far: an alert request carries them, so the bridge can match alerts to them. */
  readonly #seen = new SeenEvents();

  /** `label` names the bridge in every message (`command my-bridge`); `secrets` are taken out of them. */
  constructor(options: {
    readonly dialect: BridgeDialect;
    readonly label: string;
    readonly secrets: ReadonlySet<string>;
  }) {
    this.#dialect = options.dialect;
    this.#label = options.label;
    this.#secrets = options.secrets;
  }

  abstract describe(): string;

  /** A message naming the bridge, with every secret it was handed taken out. */
  protected say(text: string): string {
    return redact(`[siem:${this.#label}] ${text}`, this.#secrets);
  }

  /**
   * The transport: sends one request and returns the bridge's answer as parsed JSON. A failure to get one is
   * a SiemError worded with `say`.
   */
  protected abstract exchange(request: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>;

  /** One request, its answer checked against `schema` (see readAnswer). */
  async #call<S extends z.ZodType>(
    request: Record<string, unknown>,
    schema: S,
    signal?: AbortSignal,
  ): Promise<z.output<S>> {
    return readAnswer(await this.exchange(request, signal), schema, (text) => this.say(text));
  }

  abstract dispose(): Promise<void>;

  queryText(query: TelemetryQuery): string {
    return JSON.stringify(telemetryRequest(query, this.#dialect));
  }

  async findTelemetry(
    query: TelemetryQuery,
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<ProbeId, readonly SiemEvent[]>> {
    const answer = await this.#call(telemetryRequest(query, this.#dialect), TelemetryAnswer, signal);
    const found = classify(query, answer.events);
    this.#seen.remember(found);
    return found;
  }

  detectionText(query: DetectionQuery): string {
    return JSON.stringify(detectionRequest(query, this.#seen.lookup(query.eventRefs)));
  }

  async findDetections(query: DetectionQuery, signal?: AbortSignal): Promise<readonly SiemAlert[]> {
    refuseIfInterrupted(signal, `[siem:${this.id}] alert search`);
    const events = this.#seen.lookup(query.eventRefs);
    if (events.length === 0) return [];
    const answer = await this.#call(detectionRequest(query, events), DetectionAnswer, signal);
    return askedAlerts(answer, query);
  }

  ingestEndpoint(): null {
    return null;
  }
}
