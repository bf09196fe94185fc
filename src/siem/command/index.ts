import { execa } from 'execa';
import { z } from 'zod';
import {
  refuseIfInterrupted,
  defineSiemConnector,
  searchOnly,
  remoteSiemPolling,
  errorMessage,
  SiemError,
  type DetectionQuery,
  type SiemAlert,
  type SiemConnector,
  type TelemetryQuery,
} from '../../core/index.js';
import { classify } from '../../signals/classify.js';
import { SeenEvents } from '../../signals/link.js';
import { compileEsBatch, compileKql, compileSplBatch } from '../../signals/compile-backends.js';
import { redact } from '../../util/redact.js';
import { CommandSiemOptions } from './schema.js';

/** The request/response protocol, documented in docs/connectors/command.md. */
export const protocol = 'purple-harness.siem/v1';

const PluginError = z.looseObject({
  error: z.looseObject({ message: z.string(), retryable: z.boolean().default(false) }),
});

const TelemetryAnswer = z.looseObject({
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

const DetectionAnswer = z.looseObject({
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

class CommandSiem implements SiemConnector {
  readonly id = 'command';
  readonly #options: CommandSiemOptions;
  readonly #env: Record<string, string>;
  readonly #secrets: ReadonlySet<string>;
  /** Events returned so far: a detection request carries them, so the plug-in can match alerts to them. */
  readonly #seen = new SeenEvents();

  constructor(options: CommandSiemOptions, env: Record<string, string>, secrets: ReadonlySet<string>) {
    this.#options = options;
    this.#env = env;
    this.#secrets = secrets;
  }

  describe(): string {
    return `command plug-in "${this.#options.name}" (${this.#options.command[0] ?? ''})`;
  }

  /** One request: JSON on stdin, one JSON document on stdout. Everything that goes wrong names the plug-in. */
  async #call<S extends z.ZodType>(
    request: Record<string, unknown>,
    schema: S,
    signal?: AbortSignal,
  ): Promise<z.output<S>> {
    const say = (text: string): string =>
      redact(`[siem:command ${this.#options.name}] ${text}`, this.#secrets);
    const [file = '', ...args] = this.#options.command;
    const result = await execa(file, args, {
      input: JSON.stringify({ protocol, ...request }),
      env: this.#env,
      extendEnv: false,
      timeout: this.#options.timeoutMs,
      reject: false,
      stripFinalNewline: true,
      maxBuffer: 64 * 1024 * 1024,
      ...(this.#options.cwd === undefined ? {} : { cwd: this.#options.cwd }),
      ...(signal === undefined ? {} : { cancelSignal: signal }),
    });
    if (result.timedOut)
      throw new SiemError(
        'E_SIEM_UNAVAILABLE',
        say(`did not answer within ${String(this.#options.timeoutMs)} ms`),
        {
          retryable: true,
        },
      );
    if (result.failed && result.exitCode === undefined)
      throw new SiemError('E_SIEM_UNAVAILABLE', say(`could not run: ${result.shortMessage}`), {
        hint: 'Check `command` in the siem config: the executable must exist and be runnable.',
      });
    let answer: unknown;
    try {
      answer = JSON.parse(result.stdout);
    } catch (error) {
      const stderr = result.stderr.slice(-500);
      throw new SiemError(
        'E_SIEM_QUERY',
        say(
          `exit ${String(result.exitCode)}, and stdout is not one JSON document${stderr ? `; stderr: ${stderr}` : ''}`,
        ),
        { retryable: result.exitCode !== 0, cause: error },
      );
    }
    const failed = PluginError.safeParse(answer);
    if (failed.success)
      throw new SiemError('E_SIEM_QUERY', say(failed.data.error.message), {
        retryable: failed.data.error.retryable,
      });
    if (result.exitCode !== 0)
      throw new SiemError(
        'E_SIEM_QUERY',
        say(`exit ${String(result.exitCode)}: ${result.stderr.slice(-500)}`),
        {
          retryable: true,
        },
      );
    const parsed = schema.safeParse(answer);
    if (!parsed.success)
      throw new SiemError(
        'E_SIEM_QUERY',
        say(`answer does not follow ${protocol}: ${errorMessage(parsed.error)}`),
      );
    return parsed.data;
  }

  #compiled(query: TelemetryQuery): unknown {
    switch (this.#options.dialect) {
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

  #telemetryRequest(query: TelemetryQuery): Record<string, unknown> {
    return {
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
        dialect: this.#options.dialect,
        compiled: this.#compiled(query),
      },
    };
  }

  queryText(query: TelemetryQuery): string {
    return JSON.stringify({ protocol, ...this.#telemetryRequest(query) });
  }

  async findTelemetry(query: TelemetryQuery, signal?: AbortSignal) {
    const answer = await this.#call(this.#telemetryRequest(query), TelemetryAnswer, signal);
    const found = classify(query, answer.events);
    this.#seen.remember(found);
    return found;
  }

  #detectionRequest(
    query: DetectionQuery,
    events = this.#seen.lookup(query.eventRefs),
  ): Record<string, unknown> {
    return {
      op: 'findDetections',
      query: { host: query.host, since: query.since.toISOString(), until: query.until.toISOString(), events },
    };
  }

  detectionText(query: DetectionQuery): string {
    return JSON.stringify({ protocol, ...this.#detectionRequest(query) });
  }

  async findDetections(query: DetectionQuery, signal?: AbortSignal): Promise<readonly SiemAlert[]> {
    refuseIfInterrupted(signal, '[siem:command] alert search');
    const events = this.#seen.lookup(query.eventRefs);
    if (events.length === 0) return [];
    const answer = await this.#call(this.#detectionRequest(query, events), DetectionAnswer, signal);
    // Only links to events we asked about count: a plug-in cannot widen the evidence.
    const asked = new Set(query.eventRefs);
    return answer.alerts.flatMap((alert) => {
      const eventRefs = alert.eventRefs.filter((ref) => asked.has(ref));
      return eventRefs.length === 0 ? [] : [{ ...alert, host: query.host, eventRefs }];
    });
  }

  ingestEndpoint(): null {
    return null;
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

export const commandSiem = defineSiemConnector({
  id: 'command',
  displayName: 'Command plug-in (JSON over stdin/stdout)',
  optionsSchema: CommandSiemOptions,
  capabilities: searchOnly.linked,
  polling: remoteSiemPolling,
  create(options, ctx) {
    // Only the variables the config names reach the plug-in: its credentials, and PATH to find itself.
    const env: Record<string, string> = {};
    for (const name of ['PATH', ...options.passEnv]) {
      const value = ctx.env[name] ?? process.env[name];
      if (value !== undefined) env[name] = value;
    }
    // What it is handed is treated as secret (values of 8 characters or more, so a mode flag is not).
    const secrets = new Set([
      ...ctx.secrets,
      ...options.passEnv.flatMap((name) => env[name] ?? []).filter((value) => value.length >= 8),
    ]);
    return Promise.resolve(new CommandSiem(options, env, secrets));
  },
});
