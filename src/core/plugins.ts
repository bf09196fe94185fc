import type { z } from 'zod';
import type { RunContext } from './context.js';
import type { ProbeId, TelemetryProbe } from './signal-model.js';
import type { PayloadFetch, RunResult } from './run-record.js';
import type { Publication } from './findings.js';

/** Context every plug-in gets: logging, time and the secrets to keep out of its messages. */
export type PluginContext = Pick<RunContext, 'logger' | 'clock' | 'sleep' | 'secrets'> & {
  /** The environment merged with `.env`: the only place secrets come from. */
  readonly env: Readonly<Record<string, string | undefined>>;
};

// ---------------------------------------------------------------- executors

/** A lab host from the inventory, with its credentials already read from the environment. */
export interface HostTarget {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly username: string;
  /**
   * OpenSSH-style fingerprint, `SHA256:` + unpadded base64. Connections to any other key are refused.
   * null only for the one-off probe `--trust-new-host-keys` makes to learn a new host's key.
   */
  readonly hostKeySha256: string | null;
  readonly auth:
    | { readonly password: string }
    | { readonly privateKey: string; readonly passphrase?: string }
    | { readonly agent: string };
  readonly simulated: boolean;
}

/** One PowerShell operation from the fixed vocabulary in templates/remote/. */
export interface RemoteOperation {
  readonly name: string;
  readonly script: string;
  readonly timeoutMs: number;
}

/** Non-zero exit codes are results, not exceptions. `frame` is the operation's framed JSON, if any. */
export interface OperationResult {
  readonly operation: string;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly frame: unknown;
}

export interface ExecSession {
  /** The host key the server presented, as an OpenSSH fingerprint. */
  readonly hostKeySha256: string;
  upload(remotePath: string, content: string): Promise<void>;
  run(operation: RemoteOperation, signal?: AbortSignal): Promise<OperationResult>;
  close(): Promise<void>;
}

export interface Executor {
  open(host: HostTarget, signal?: AbortSignal): Promise<ExecSession>;
}

/** What every plug-in's entry (its folder's index.ts) says about itself; read by the docs, `--help` and `doctor`. */
export interface PluginDocs {
  /** One line for tables and `--help`. */
  readonly summary: string;
  /** The plug-in's guide, relative to the package root. */
  readonly guide: string;
}

/**
 * A plug-in's entry: light (its options schema and facts, no implementation), so reading a config or
 * printing help loads none of them; `load()` imports the implementation when it is used.
 */
interface PluginEntry<S extends z.ZodObject, Impl> {
  readonly id: string;
  readonly displayName: string;
  readonly optionsSchema: S;
  readonly docs: PluginDocs;
  load(): Promise<Impl>;
}

export type ExecutorDefinition<S extends z.ZodObject = z.ZodObject> = PluginEntry<
  S,
  { create(options: z.output<S>, ctx: PluginContext): Executor }
>;

// ---------------------------------------------------------------- SIEM connectors

export interface SiemEvent {
  /** The SIEM's own id for the event, kept as evidence. */
  readonly ref: string;
  /** Event time as the host stamped it (ISO 8601). */
  readonly time: string;
  /** When the SIEM stored it (ISO 8601), if the SIEM records that. */
  readonly indexedAt: string | null;
  readonly host: string;
  readonly eventId: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface SiemAlert {
  readonly ref: string;
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly host: string;
  readonly time: string;
  /** Refs of the events the alert fired on. */
  readonly eventRefs: readonly string[];
  /** ATT&CK technique and tactic IDs the SIEM attached to the alert (T1218.003, TA0005), when it says. */
  readonly attack?: readonly string[];
}

/** An alert with the time of the event it fired on, as the host stamped it. */
export interface HostAlert extends SiemAlert {
  readonly eventTime: string;
}

/**
 * A span of event time, both ends inclusive: the one window shape every stage and connector uses. A SIEM
 * whose end bound is exclusive gets it widened by its compiler (Splunk's `latest`, see splLatest).
 */
export interface TimeWindow {
  readonly since: Date;
  readonly until: Date;
}

/** A window as run.json and the evidence bundle keep it: ISO-8601 text. */
export type TimeWindowRecord = { readonly [K in keyof TimeWindow]: string };

export interface TelemetryQuery extends TimeWindow {
  readonly host: string;
  readonly marker: string;
  /** Values for the placeholders in signal definitions (core/signal-model.ts lists them). */
  readonly bindings: Readonly<Record<string, string>>;
  /** Event-time window around cmstp's own run, for signals correlated by `window`. */
  readonly processWindow: TimeWindow;
  /** Every pending signal (and the canary, while unseen) goes in one query per poll; rows are classified by probe. */
  readonly signals: readonly TelemetryProbe[];
}

export interface DetectionQuery extends TimeWindow {
  readonly host: string;
  /** Alerts are kept only when they reference one of these events (the marker-correlated evidence). */
  readonly eventRefs: readonly string[];
  /** The run's marker: for SIEMs whose alerts carry no event ids, an alert naming it is about this run. */
  readonly marker?: string;
}

/**
 * - `local-hec`: the local SIEM's HEC (flat JSON envelopes);
 * - `splunk-hec`: a real Splunk's HEC (XmlWinEventLog events, as the Universal Forwarder sends Sysmon);
 * - `elastic-bulk`: `_bulk` ECS documents into `logs-<dataset>-<namespace>`, as Elastic Agent writes them.
 */
export type IngestEndpoint =
  | { readonly protocol: 'local-hec'; readonly url: string; readonly token: string }
  | {
      readonly protocol: 'splunk-hec';
      readonly url: string;
      readonly token: string;
      readonly index: string;
      /** How the forwarder renders the Security log: XML (renderXml = true) or classic text. */
      readonly securityRendering: 'xml' | 'classic';
    }
  | {
      readonly protocol: 'elastic-bulk';
      readonly url: string;
      readonly authorization: string;
      readonly namespace: string;
    };

/** One thing a connector's queries need from the SIEM, as found there. */
export interface SiemRequirement {
  readonly name: string;
  readonly ok: boolean;
  /** What was found. */
  readonly detail: string;
  /** What to change when it is not ok. */
  readonly fix: string | null;
}

export interface SiemConnector {
  readonly id: string;
  /**
   * True when rules run in the same step that makes an event searchable (the local SIEM evaluates Sigma
   * in its insert transaction): once an event is found, every alert it will ever get can be found too, so
   * "no alert" is proven by one detections query rather than by waiting out the deadline.
   */
  readonly alertsAtIngest?: boolean;
  /** Printed in reports: which SIEM answered. Never includes credentials. */
  describe(): string;
  /**
   * The tuning its rules read, as reports name it (`default`, or `custom, sha256 …`; core/tuning.ts
   * tuningLabel): absent when its rules are not ours, as in a SIEM with the team's own.
   */
  readonly tuning?: string;
  findTelemetry(
    query: TelemetryQuery,
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<ProbeId, readonly SiemEvent[]>>;
  findDetections(query: DetectionQuery, signal?: AbortSignal): Promise<readonly SiemAlert[]>;
  /**
   * Many pairs' telemetry queries as one SIEM query (capability `batch`): a run-wide poll round asks once for
   * every pending pair. Answers come in the queries' order, each classified exactly as `findTelemetry` would
   * classify that query alone. The poller keeps each call within `batchLimits`; a SIEM that refuses a batch
   * (or would cut its answer short at a result cap) throws a non-retryable `E_SIEM_QUERY`, and the poller
   * splits the batch in halves until each part is answered or stands alone.
   */
  findTelemetryBatch?(
    queries: readonly TelemetryQuery[],
    signal?: AbortSignal,
  ): Promise<readonly ReadonlyMap<ProbeId, readonly SiemEvent[]>[]>;
  /** Many pairs' alert searches as one SIEM query (capability `batch`), answered in order as `findDetections`. */
  findDetectionsBatch?(
    queries: readonly DetectionQuery[],
    signal?: AbortSignal,
  ): Promise<readonly (readonly SiemAlert[])[]>;
  /** How much one batch may hold, from the SIEM's documented limits; present exactly when the batch calls are. */
  readonly batchLimits?: BatchLimits;
  /**
   * Every alert on a host's events stamped within [since, until], when the SIEM can list them: the run's
   * collateral (alerts on the harness's own steps) is what is left once the evidence is taken out.
   */
  findHostAlerts?(
    query: TimeWindow & { readonly host: string },
    signal?: AbortSignal,
  ): Promise<readonly HostAlert[]>;
  /** The telemetry query as this connector sends it, for the evidence (SPL, KQL, DSL, SQL, a request). */
  queryText(query: TelemetryQuery): string;
  /** The alert query as this connector sends it, for the evidence; absent when it is not one query. */
  detectionText?(query: DetectionQuery): string;
  /**
   * Runs the configured detection rules now instead of waiting for their schedule (capability
   * `triggerRule`); called once, when the run's telemetry is first seen. Returns what it started.
   */
  triggerRules?(query: DetectionQuery, signal?: AbortSignal): Promise<readonly string[]>;
  /**
   * Closes (or tags) the alerts a test raised, with a note naming the run, when the config asks for it
   * (capability `closeAlerts`). Returns the refs it closed, or null when alert clean-up is not configured.
   */
  closeAlerts?(
    alerts: readonly { readonly ref: string }[],
    note: string,
    signal?: AbortSignal,
  ): Promise<readonly string[] | null>;
  /**
   * What this connector's queries rely on (a workspace function, the Security log's rendering, a field's
   * type), checked against the real SIEM with read-only queries. `doctor` runs it: a missing piece is a
   * configuration error with its fix before any run, never a silent "not captured" during one.
   */
  checkRequirements?(signal?: AbortSignal): Promise<readonly SiemRequirement[]>;
  /**
   * Calls `listener` whenever events from `host` become searchable (capability `push`), until the returned
   * function is called, with the span their timestamps fall in. The poll then looks at once instead of at its
   * next interval, unless the span lies outside its window; it still polls on its schedule, so a missed call
   * only costs time, never evidence.
   */
  onIngest?(host: string, listener: (arrived: IngestNotice) => void): () => void;
  /** Where the simulated lab can send telemetry to this SIEM, in the shape its real pipeline delivers. */
  ingestEndpoint(): IngestEndpoint | null;
  dispose(): Promise<void>;
}

/**
 * What a push says: some of a host's events became searchable, stamped (event time, the host's clock) from
 * `earliest` to `latest`. An invalid date means the SIEM could not tell, and is taken as "any time".
 */
export interface IngestNotice {
  readonly earliest: Date;
  readonly latest: Date;
}

/**
 * The most one batched search may carry, declared by the connector from its SIEM's documented limits (query
 * length, clause count); a run-wide poll round is split into as few batches as fit.
 */
export interface BatchLimits {
  /** Pairs (one host, one marker, one window each) per SIEM query. */
  readonly maxQueries: number;
  /** Probes (signals and canaries) across those pairs: each compiles to a bounded number of clauses. */
  readonly maxProbes: number;
}

export interface SiemCapabilities {
  /** Searches raw telemetry (every connector does). */
  readonly telemetrySearch: true;
  /** Searches the SIEM's alerts (notables, Security alerts, SecurityAlert, findings). */
  readonly alertSearch: boolean;
  /** True when alerts name the events they fired on; false when they are tied by repeated values. */
  readonly alertEventLinks: boolean;
  /** Can run a detection rule on demand instead of waiting for its schedule. */
  readonly triggerRule: boolean;
  /** Can close or tag the alerts a test raised. */
  readonly closeAlerts: boolean;
  /** Can list every alert on a host's events in a window (`findHostAlerts`): the run's collateral. */
  readonly hostAlerts: boolean;
  /** Says when a host's events become searchable (`onIngest`), so verdicts need not wait for a poll. */
  readonly push: boolean;
  /** Answers many pairs' searches in one query (`findTelemetryBatch`, `findDetectionsBatch`, `batchLimits`). */
  readonly batch: boolean;
}

export interface PollSchedule {
  readonly initialDelayMs: number;
  readonly intervalMs: number;
  readonly maxIntervalMs: number;
  /** ±fraction applied to each wait so many harnesses do not poll in step. */
  readonly jitter: number;
  /** How long after the last deadline the final sweep looks again; what it finds first is `late`. */
  readonly finalSweepDelayMs: number;
}

/** A SIEM's own pace (siem-apis.md 6.3): when to look, how long to wait, and how often it may be asked. */
export interface SiemPolling {
  readonly schedule: PollSchedule;
  /** Defaults for scenarios that set no `timeouts.capture` / `timeouts.detect`. */
  readonly captureTimeoutMs: number;
  readonly detectTimeoutMs: number;
  /** Queries per second across all hosts of a run; null for no cap. */
  readonly maxQueriesPerSecond: number | null;
}

/** The local SIEM answers in milliseconds and alerts as events arrive. */
export const localSiemPolling: SiemPolling = {
  schedule: {
    initialDelayMs: 100,
    intervalMs: 100,
    maxIntervalMs: 1000,
    jitter: 0.2,
    finalSweepDelayMs: 300,
  },
  captureTimeoutMs: 30_000,
  detectTimeoutMs: 5_000,
  maxQueriesPerSecond: null,
};

/** Real SIEMs: first look 15 s in, then 5 -> 30 s backoff with jitter; 3 min for telemetry, 10 for alerts. */
export const remoteSiemPolling: SiemPolling = {
  schedule: {
    initialDelayMs: 15_000,
    intervalMs: 5_000,
    maxIntervalMs: 30_000,
    jitter: 0.2,
    finalSweepDelayMs: 30_000,
  },
  captureTimeoutMs: 180_000,
  detectTimeoutMs: 600_000,
  maxQueriesPerSecond: 4,
};

/** What most connectors can do today: search telemetry and alerts, but not run or close rules. */
export const searchOnly = {
  /** Alerts name their events (local, Elastic, command plug-ins). */
  linked: {
    telemetrySearch: true,
    alertSearch: true,
    alertEventLinks: true,
    triggerRule: false,
    closeAlerts: false,
    hostAlerts: false,
    push: false,
    batch: false,
  },
  /** Alerts are tied to events by the values they repeat (Splunk notables, Sentinel SecurityAlert). */
  unlinked: {
    telemetrySearch: true,
    alertSearch: true,
    alertEventLinks: false,
    triggerRule: false,
    closeAlerts: false,
    hostAlerts: false,
    push: false,
    batch: false,
  },
} as const satisfies Record<string, SiemCapabilities>;

/** The query languages the harness compiles signals to (src/signals/backends.ts), by `signals --siem` name. */
export type QueryDialect = 'local' | 'splunk' | 'sentinel' | 'elastic';

export interface SiemConnectorDefinition<S extends z.ZodObject = z.ZodObject> extends PluginEntry<
  S,
  { create(options: z.output<S>, ctx: PluginContext): Promise<SiemConnector> }
> {
  readonly capabilities: SiemCapabilities;
  readonly polling: SiemPolling;
  /** The language `plan` shows its queries in; null when it is handed probes rather than a query. */
  dialect(options: z.output<S>): QueryDialect | null;
  /**
   * The variables its config names that must be set for it to connect (`doctor`); without this, every
   * `*Env` the config names is required.
   */
  requiredEnv?(options: z.output<S>): string[];
}

// ---------------------------------------------------------------- payload server

/** Hands out each run's scriptlet over HTTP and remembers who fetched it (src/payload-server/). */
export interface PayloadPublisher {
  readonly baseUrl: string;
  /**
   * The IPv4 address hosts connect to for the scriptlet, when known: an IP-literal advertised host, or the
   * address the server is bound to. Sysmon 3 is keyed on it, as its DestinationHostname may be empty.
   */
  readonly address: string | null;
  /**
   * A second IPv4 address the same server answers on (`payloadServer.secondBind`; 127.0.0.2 on the embedded
   * lab), for scenarios that fetch from it (`scriptlet.from: second-address`); null when it has none.
   */
  readonly secondAddress: string | null;
  publish(path: string, content: string, contentType: string): void;
  withdraw(path: string): void;
  fetches(prefix: string): PayloadFetch[];
}

// ---------------------------------------------------------------- reporters

/** Reporters return content; only report/write.ts touches disk. */
export interface ReportArtifact {
  /** Relative to the run's report folder. */
  readonly path: string;
  readonly content: string;
}

export interface Reporter {
  /** `publication` is what the writer knows of where the report is filed; absent when re-rendering. */
  render(run: RunResult, publication?: Publication): readonly ReportArtifact[];
}

export type ReporterDefinition<S extends z.ZodObject = z.ZodObject> = PluginEntry<
  S,
  { create(options: z.output<S>): Reporter }
>;
