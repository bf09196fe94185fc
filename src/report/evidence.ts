import type {
  EvidenceEntry,
  EvidenceKind,
  ExecutionRecord,
  Expectation,
  QueryRecord,
  Readiness,
  ReportArtifact,
  SignalId,
  SignalObservation,
  SiemAlert,
  SiemEvent,
  TelemetryQuery,
  TranscriptEntry,
  TimeWindowRecord,
} from '../core/index.js';
import { sha256 } from '../util/hash.js';
import { redact } from '../util/redact.js';

/** What a signal was judged against, kept beside its raw events so the verdict can be re-derived. */
export interface SignalEvidenceInput {
  readonly id: SignalId;
  readonly expectation: Expectation;
  readonly readiness: Readiness;
  readonly observation: SignalObservation | undefined;
}

/** The telemetry query's parameters (window, bindings): with the raw events, enough to classify them again. */
export type QueryPlanRecord = Pick<TelemetryQuery, 'host' | 'marker' | 'bindings'> & {
  readonly processWindow: TimeWindowRecord;
  readonly since: string;
  /** Clean-up's start on the target clock; null when unknown (then the window stayed open). */
  readonly evidenceUntil: string | null;
  readonly captureTimeoutMs: number;
  readonly detectTimeoutMs: number;
};

export interface ScenarioEvidenceInput {
  readonly scenarioId: string;
  readonly host: string;
  readonly rendered: {
    readonly payload: { readonly remotePath: string; readonly content: string } | null;
    readonly scriptlet: { readonly url: string; readonly content: string } | null;
    readonly stagedScriptlet?: { readonly remotePath: string; readonly content: string } | null;
  } | null;
  readonly transcript: readonly TranscriptEntry[];
  readonly execution: ExecutionRecord | null;
  readonly signals: readonly SignalEvidenceInput[];
  readonly plan: QueryPlanRecord | null;
  readonly queries: readonly QueryRecord[];
}

/** The signal file's shape: evidence/<scenario>/<host>/siem/<signal>.json: the poll's record, raw. */
export type SignalEvidenceFile = Omit<SignalObservation, 'events' | 'alerts' | 'raw'> & {
  readonly expectation: Expectation;
  readonly readiness: Readiness;
  readonly polled: boolean;
  /** Every event and alert as the connector returned it (redacted). */
  readonly events: readonly SiemEvent[];
  readonly alerts: readonly SiemAlert[];
};

/** Folder-safe: scenario ids and host names become path segments. */
export const segment = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_');

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/**
 * One scenario x host's part of the evidence bundle: the rendered INF/SCT, the command transcript, the
 * preflight facts, the raw SIEM events and alerts per signal, the queries and the clean-up record. Content
 * is redacted here, before it is hashed, so the hashes in run.json are those of the files on disk. Pure.
 */
export function scenarioEvidence(
  input: ScenarioEvidenceInput,
  secrets: ReadonlySet<string>,
): { files: ReportArtifact[]; index: EvidenceEntry[] } {
  const dir = `evidence/${segment(input.scenarioId)}/${segment(input.host)}`;
  const files: ReportArtifact[] = [];
  const index: EvidenceEntry[] = [];
  const add = (name: string, kind: EvidenceKind, content: string, signal: SignalId | null = null): void => {
    const clean = redact(content, secrets);
    const path = `${dir}/${name}`;
    files.push({ path, content: clean });
    index.push({ path, kind, sha256: sha256(clean), bytes: Buffer.byteLength(clean), signal });
  };

  const payload = input.rendered?.payload;
  if (payload)
    add(
      `payload/${segment(payload.remotePath.split('\\').pop() ?? 'profile.inf')}`,
      'payload',
      payload.content,
    );
  const scriptlet = input.rendered?.scriptlet ?? input.rendered?.stagedScriptlet;
  if (scriptlet) add('payload/scriptlet.sct', 'scriptlet', scriptlet.content);
  add('transcript.json', 'transcript', json(input.transcript));
  if (input.execution !== null) {
    add(
      'preflight.json',
      'preflight',
      json({
        facts: input.execution.facts,
        readiness: Object.fromEntries(input.signals.map((s) => [s.id, s.readiness])),
        canary: input.execution.canary,
      }),
    );
    add(
      'cleanup.json',
      'cleanup',
      // The diff: created (after the run, not before), removed by clean-up, residue (still there after).
      json({
        ...input.execution.cleanup,
        steps: input.execution.steps.filter((s) => /snapshot|cleanup|uninstall|unlock/.test(s.step)),
      }),
    );
  }
  add('queries.json', 'queries', json({ plan: input.plan, issued: input.queries }));
  for (const signal of input.signals) {
    const o = signal.observation;
    const file: SignalEvidenceFile = {
      signal: signal.id,
      expectation: signal.expectation,
      readiness: signal.readiness,
      polled: o !== undefined,
      firstSeenAt: o?.firstSeenAt ?? null,
      alertFirstSeenAt: o?.alertFirstSeenAt ?? null,
      polls: o?.polls ?? 0,
      error: o?.error ?? null,
      capturedLate: o?.capturedLate ?? false,
      detectedLate: o?.detectedLate ?? false,
      // Whether absence was observed (a query after the deadline succeeded): what "not seen" verdicts rest on.
      absence: o?.absence ?? { telemetry: false, alerts: false },
      events: o?.raw?.events ?? [],
      alerts: o?.raw?.alerts ?? [],
    };
    add(`siem/${signal.id}.json`, 'siem-signal', json(file), signal.id);
  }
  return { files, index };
}
