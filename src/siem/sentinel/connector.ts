import { createHash } from 'node:crypto';
import {
  AzureCliCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { z } from 'zod';
import {
  refuseIfInterrupted,
  errorMessage,
  SiemError,
  type DetectionQuery,
  type PluginContext,
  type SiemAlert,
  type SiemConnector,
  type SiemEvent,
  type SiemRequirement,
  type TelemetryQuery,
  type TimeWindow,
} from '../../core/index.js';
import { sentinelSysmonReads } from '../../signals/backends.js';
import { classify } from '../../signals/classify.js';
import { compileKqlBatch, kqlString } from '../../signals/compile-backends.js';
import { defenderTables } from '../../signals/field-map.js';
import { eventsNamedIn, SeenEvents } from '../../signals/link.js';
import { parseAs, secretFrom, siemHttp, textOf as text, type SiemHttp } from '../http.js';
import type { SentinelSiemOptions } from './schema.js';

const plugin = 'sentinel';
const sysmonFix =
  'Save the public Sysmon parser (Azure-Sentinel, Parsers/Sysmon/Sysmon-v11.0.txt, or Sysmon-AllVersions_Parser.txt) as a workspace function named exactly Sysmon (Logs > Save > Save as function), then wait for it to activate (10-15 minutes).';
const scope = 'https://api.loganalytics.io/.default';
const armScope = 'https://management.azure.com/.default';
const incidentsApi = '2023-02-01';

const Incident = z.looseObject({
  etag: z.string().optional(),
  properties: z.record(z.string(), z.unknown()),
});

/** The query API's answer (siem-apis.md 4.1): tables of columns and rows, and a PartialError when incomplete. */
const QueryResponse = z.looseObject({
  tables: z
    .array(
      z.looseObject({
        name: z.string(),
        columns: z.array(z.looseObject({ name: z.string(), type: z.string().optional() })),
        rows: z.array(z.array(z.unknown())),
      }),
    )
    .default([]),
  error: z.looseObject({ code: z.string(), message: z.string().optional() }).optional(),
});

type Row = Readonly<Record<string, unknown>>;

/**
 * Every string inside a JSON column (Entities, ExtendedProperties), unescaped: a command line in JSON text
 * has doubled backslashes, so the raw text would never match the event's own value.
 */
function jsonStrings(value: unknown): string[] {
  const walk = (node: unknown): string[] => {
    if (typeof node === 'string') {
      const trimmed = node.trim();
      if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
        try {
          return [node, ...walk(JSON.parse(trimmed))];
        } catch {
          return [node];
        }
      }
      return [node];
    }
    if (Array.isArray(node)) return node.flatMap(walk);
    if (typeof node === 'object' && node !== null) return Object.values(node).flatMap(walk);
    return typeof node === 'number' ? [String(node)] : [];
  };
  return walk(value);
}

/** Defender column -> Sysmon name, per Sysmon event id, to read Device* rows back into our field names. */
const fromDefender = new Map(
  Object.entries(defenderTables).map(([id, table]) => [
    Number(id),
    Object.fromEntries(Object.entries(table.columns).map(([sysmon, column]) => [column, sysmon])),
  ]),
);

/** A leg's packed row (signals/compile-backends.ts): dynamic values come back as JSON text. */
function unpack(row: Row): Row | null {
  const packed = row.PhRow;
  if (typeof packed === 'object' && packed !== null && !Array.isArray(packed)) return packed as Row;
  if (typeof packed !== 'string') return null;
  try {
    const value = JSON.parse(packed) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Row) : null;
  } catch {
    return null;
  }
}

/** One row as our event: Sysmon-parser and SecurityEvent rows keep their names; Device* rows are mapped back. */
function toEvent(packed: Row): SiemEvent | null {
  const row = unpack(packed);
  if (row === null) return null;
  const defenderId = Number(row.PhEventId);
  const fields: Record<string, unknown> = {};
  const names = Number.isInteger(defenderId) ? fromDefender.get(defenderId) : undefined;
  for (const [name, value] of Object.entries(row)) {
    if (value === null || value === '') continue;
    fields[names?.[name] ?? name] = typeof value === 'object' ? JSON.stringify(value) : value;
  }
  const eventId = names ? defenderId : Number(row.EventID);
  if (!Number.isInteger(eventId)) return null;
  fields.EventID = eventId;
  fields.Computer = text(row.Computer) || text(row.DeviceName);
  const time = text(row.TimeGenerated) || text(row.Timestamp);
  if (time === '') return null;
  // ASIM parsers keep no item id: the row's own content names it, the same on every poll.
  const id =
    text(row._ItemId) ||
    text(row.ReportId) ||
    createHash('sha256').update(JSON.stringify(row)).digest('hex').slice(0, 24);
  return {
    ref: `${text(row.Type) || 'row'}:${id}`,
    time: new Date(time).toISOString(),
    indexedAt: text(row.PhIngested) || null,
    host: text(fields.Computer),
    eventId,
    fields,
  };
}

/** A function or table the queries read, checked for the columns they use (or its absence, with the fix). */
function present(
  name: string,
  absent: string,
  found: Map<string, string> | string,
  needed: readonly string[],
  fix: string,
): SiemRequirement {
  if (typeof found === 'string')
    return { name, ok: false, detail: `the workspace has no ${absent}: ${found}`, fix };
  const missing = needed.filter((column) => !found.has(column));
  return missing.length === 0
    ? { name, ok: true, detail: `returns ${String(needed.length)} columns the queries use`, fix: null }
    : { name, ok: false, detail: `lacks the column(s) ${missing.join(', ')} the queries use`, fix };
}

const asimFix = (parser: string): string =>
  parser.startsWith('_Im_')
    ? `The built-in ASIM parser ${parser} ships in every Sentinel workspace; if your workspace lacks it or an older version, deploy the ASIM parsers (Azure-Sentinel, Parsers/ASim*) to the workspace and set sysmon: asim-workspace, or set sysmon: function.`
    : `Deploy the ASIM parsers to the workspace (Azure-Sentinel, Parsers/ASim*/ARM, "Deploy to Azure"), or set sysmon: asim to use the built-in _Im_ parsers.`;

class SentinelSiem implements SiemConnector {
  readonly id = plugin;
  readonly #options: SentinelSiemOptions;
  readonly #http: SiemHttp;
  readonly #seen = new SeenEvents();
  readonly #arm: SiemHttp | null;

  constructor(options: SentinelSiemOptions, http: SiemHttp, arm: SiemHttp | null) {
    this.#options = options;
    this.#http = http;
    this.#arm = arm;
  }

  /**
   * Closes the incidents this test raised as benign positives with a comment naming the run, through the
   * Microsoft.SecurityInsights incidents API (read, then write back with the new status and its etag).
   */
  async closeAlerts(
    alerts: readonly { readonly ref: string }[],
    note: string,
    signal?: AbortSignal,
  ): Promise<readonly string[] | null> {
    const target = this.#options.closeIncidents;
    if (target === undefined || this.#arm === null) return null;
    const closed: string[] = [];
    for (const { ref } of alerts.filter((a) => a.ref.startsWith('SecurityIncident:'))) {
      const name = ref.slice('SecurityIncident:'.length);
      const path = `/subscriptions/${target.subscriptionId}/resourceGroups/${encodeURIComponent(target.resourceGroup)}/providers/Microsoft.OperationalInsights/workspaces/${encodeURIComponent(target.workspaceName)}/providers/Microsoft.SecurityInsights/incidents/${encodeURIComponent(name)}`;
      const query = { 'api-version': incidentsApi };
      const current = parseAs(
        plugin,
        Incident,
        await this.#arm.send('GET', path, { query }, signal),
        'incident',
      );
      await this.#arm.send(
        'PUT',
        path,
        {
          query,
          json: {
            ...(current.etag === undefined ? {} : { etag: current.etag }),
            properties: {
              ...current.properties,
              status: 'Closed',
              classification: 'BenignPositive',
              classificationReason: 'SuspiciousButExpected',
              classificationComment: note,
            },
          },
        },
        signal,
      );
      closed.push(ref);
    }
    return closed;
  }

  describe(): string {
    return `Microsoft Sentinel workspace ${this.#options.workspaceId} via ${new URL(this.#options.endpoint).host}${this.#options.tls.insecure ? ' [TLS verification OFF]' : ''}`;
  }

  /** One KQL query; a partial answer is not an answer (the poll retries), and an empty one is told apart. */
  async #query(kql: string, { since, until }: TimeWindow, signal?: AbortSignal): Promise<Row[]> {
    const response = await this.#http.send(
      'POST',
      `/v1/workspaces/${encodeURIComponent(this.#options.workspaceId)}/query`,
      {
        json: { query: kql, timespan: `${since.toISOString()}/${until.toISOString()}` },
        headers: { prefer: `wait=${String(this.#options.serverTimeoutSeconds)}` },
        accept: [204],
      },
      signal,
    );
    // 204: a workspace with no data at all. An empty 200 means the request was not understood.
    if (response.status === 204) return [];
    if (response.text.trim() === '')
      throw new SiemError('E_SIEM_QUERY', `[siem:${plugin}] the query API answered 200 with no body`, {
        retryable: true,
      });
    const answer = parseAs(plugin, QueryResponse, response, 'query');
    if (answer.error !== undefined)
      throw new SiemError(
        'E_SIEM_UNAVAILABLE',
        `[siem:${plugin}] ${answer.error.code === 'PartialError' ? 'partial results' : answer.error.code}: ${answer.error.message ?? ''}`,
        { retryable: true },
      );
    return answer.tables.flatMap((table) =>
      table.rows.map((values) =>
        Object.fromEntries(table.columns.map((column, i) => [column.name, values[i]])),
      ),
    );
  }

  queryText(query: TelemetryQuery): string {
    return compileKqlBatch(query, this.#options.sysmon);
  }

  async findTelemetry(query: TelemetryQuery, signal?: AbortSignal) {
    const rows = await this.#query(this.queryText(query), query, signal);
    const events = rows.flatMap((row) => toEvent(row) ?? []);
    const found = classify(query, events);
    this.#seen.remember(found);
    return found;
  }

  detectionText(query: DetectionQuery): string {
    const short = kqlString(query.host.split('.')[0] ?? query.host);
    return [
      'SecurityAlert',
      `| where TimeGenerated between (datetime(${query.since.toISOString()}) .. datetime(${query.until.toISOString()}))`,
      `| where CompromisedEntity has ${short} or Entities has ${short}`,
      '| summarize arg_max(TimeGenerated, *) by SystemAlertId',
      // The incident each alert was grouped into, if any (SecurityIncident keeps one row per update).
      '| join kind=leftouter (SecurityIncident | summarize arg_max(LastModifiedTime, *) by IncidentName',
      '    | mv-expand AlertId = AlertIds to typeof(string)',
      '    | project AlertId, IncidentName, IncidentNumber, IncidentTitle = Title, IncidentStatus = Status) on $left.SystemAlertId == $right.AlertId',
      '| project SystemAlertId, AlertName, AlertSeverity, TimeGenerated, CompromisedEntity, Entities, ExtendedProperties, Techniques, IncidentName, IncidentNumber, IncidentTitle, IncidentStatus',
    ].join('\n');
  }

  /**
   * SecurityAlert rows for the host in the window (latest version of each alert). Alerts carry no event
   * ids: one counts for an event when its entities or details repeat a value that singles the event out.
   */
  async findDetections(query: DetectionQuery, signal?: AbortSignal): Promise<readonly SiemAlert[]> {
    refuseIfInterrupted(signal, '[siem:sentinel] alert search');
    const events = this.#seen.lookup(query.eventRefs);
    if (events.length === 0) return [];
    const rows = await this.#query(this.detectionText(query), query, signal);
    return rows.flatMap((row): SiemAlert[] => {
      const refs = eventsNamedIn(
        [...jsonStrings(row.Entities), ...jsonStrings(row.ExtendedProperties)].join('\n'),
        events,
        query.marker,
      );
      if (refs.length === 0) return [];
      let ruleId = text(row.AlertName);
      try {
        const extended = JSON.parse(text(row.ExtendedProperties) || '{}') as Record<string, unknown>;
        const ids = JSON.parse(text(extended['Analytic Rule Ids']) || '[]') as unknown;
        if (Array.isArray(ids) && typeof ids[0] === 'string') ruleId = ids[0];
      } catch {
        // No rule ids: the alert name stands in.
      }
      const alert: SiemAlert = {
        ref: `SecurityAlert:${text(row.SystemAlertId)}`,
        ruleId,
        title: text(row.AlertName),
        level: text(row.AlertSeverity) || 'unknown',
        host: text(row.CompromisedEntity) || query.host,
        time: text(row.TimeGenerated),
        eventRefs: refs,
        // Techniques is a JSON array of ATT&CK IDs in a string column (["T1218"]).
        attack: jsonStrings(row.Techniques).filter((id) => /^T\d{4}/.test(id)),
      };
      // An incident is kept as evidence too: it is what the SOC actually sees.
      const incident = text(row.IncidentNumber);
      return incident === ''
        ? [alert]
        : [
            alert,
            {
              ...alert,
              // The incident's resource name (a GUID) is what the incidents API addresses.
              ref: `SecurityIncident:${text(row.IncidentName) || incident}`,
              title: `Incident ${incident}: ${text(row.IncidentTitle) || alert.title} (${text(row.IncidentStatus) || 'New'})`,
            },
          ];
    });
  }

  /**
   * What the queries read, read with `getschema` (a function's output columns, without running it on data):
   * the `Sysmon` workspace function (with `union isfuzzy=true`, a missing one would silently drop those legs)
   * with the columns the queries use, each ASIM parser when `sysmon` is asim, and whether SecurityEvent is
   * there for the 4688 legs.
   */
  async checkRequirements(signal?: AbortSignal): Promise<readonly SiemRequirement[]> {
    const now = new Date();
    const since = new Date(now.getTime() - 24 * 3_600_000);
    const columns = async (source: string): Promise<Map<string, string> | string> => {
      try {
        const rows = await this.#query(
          `${source} | getschema | project ColumnName, ColumnType`,
          { since, until: now },
          signal,
        );
        return new Map(rows.map((row) => [text(row.ColumnName), text(row.ColumnType)]));
      } catch (error) {
        if (error instanceof SiemError && error.code === 'E_SIEM_QUERY') return errorMessage(error);
        throw error;
      }
    };
    const reads = sentinelSysmonReads(this.#options.sysmon);
    const requirements: SiemRequirement[] = [];
    for (const { parser, columns: needed } of reads.asim)
      requirements.push(
        present(
          `ASIM parser ${parser}`,
          `function named ${parser}`,
          await columns(parser),
          needed,
          asimFix(parser),
        ),
      );
    const { signals, eventIds, fields } = reads.sysmonFunction;
    if (signals.length > 0) {
      const why =
        this.#options.sysmon === 'function'
          ? ''
          : ` (Sysmon ${eventIds.join(', ')} have no ASIM schema: ${signals.join(', ')} read them there)`;
      const found = present(
        'Sysmon function',
        'function named Sysmon',
        await columns('Sysmon'),
        ['TimeGenerated', 'Computer', 'EventID', ...fields],
        `${sysmonFix} The v12.0 parser drops Computer and TimeGenerated.`,
      );
      requirements.push({ ...found, detail: `${found.detail}${why}` });
    }
    const security = await columns('SecurityEvent');
    requirements.push({
      name: 'SecurityEvent',
      ok: true,
      detail:
        typeof security === 'string'
          ? 'no SecurityEvent table: the Security 4688 legs find nothing (the Sysmon legs still can)'
          : 'present, for the Security 4688 legs',
      fix: null,
    });
    return requirements;
  }

  ingestEndpoint(): null {
    return null;
  }

  async dispose(): Promise<void> {
    await this.#http.close();
    await this.#arm?.close();
  }
}

/** The Entra ID credential the config asks for; secrets come only from the environment. */
function credentialFor(
  options: SentinelSiemOptions,
  ctx: PluginContext,
): { token: (scope: string) => Promise<string>; secrets: string[] } {
  const wrap = (credential: TokenCredential) => ({
    secrets: [] as string[],
    token: async (scope: string) => {
      try {
        const token = await credential.getToken(scope);
        if (token === null) throw new Error('the credential returned no token');
        return token.token;
      } catch (error) {
        throw new SiemError('E_SIEM_AUTH', `[siem:${plugin}] no token for ${scope}: ${errorMessage(error)}`, {
          hint: 'Check the credential setting in the siem config and the Azure variables it names.',
          cause: error,
        });
      }
    },
  });
  switch (options.credential) {
    case 'token': {
      // A given token has one audience: the query API's, and (for closeIncidents) Resource Manager's.
      const tokens = new Map([[scope, secretFrom(plugin, ctx.env, options.tokenEnv)]]);
      if (options.closeIncidents !== undefined)
        tokens.set(armScope, secretFrom(plugin, ctx.env, options.armTokenEnv));
      return {
        secrets: [...tokens.values()],
        token: (wanted: string) => Promise.resolve(tokens.get(wanted) ?? ''),
      };
    }
    case 'client-secret': {
      const secret = secretFrom(plugin, ctx.env, options.clientSecretEnv);
      const made = wrap(
        new ClientSecretCredential(
          secretFrom(plugin, ctx.env, options.tenantIdEnv),
          secretFrom(plugin, ctx.env, options.clientIdEnv),
          secret,
        ),
      );
      return { ...made, secrets: [secret] };
    }
    case 'managed-identity': {
      const clientId = ctx.env[options.clientIdEnv];
      return wrap(
        clientId === undefined
          ? new ManagedIdentityCredential()
          : new ManagedIdentityCredential({ clientId }),
      );
    }
    case 'azure-cli':
      return wrap(new AzureCliCredential());
    case 'default':
      return wrap(new DefaultAzureCredential());
  }
}

/** The implementation `sentinelSiem.load()` hands out. */
// eslint-disable-next-line @typescript-eslint/require-await -- async so a missing secret rejects, never throws
export async function create(options: SentinelSiemOptions, ctx: PluginContext): Promise<SiemConnector> {
  const credential = credentialFor(options, ctx);
  const secrets = new Set([...ctx.secrets, ...credential.secrets]);
  // @azure/identity caches tokens and refreshes them before they expire; each is redacted like any secret.
  const client = (baseUrl: string, audience: string) =>
    siemHttp({
      plugin,
      baseUrl,
      tls: options.tls,
      timeoutMs: options.timeoutMs,
      auth: async () => {
        const token = await credential.token(audience);
        secrets.add(token);
        return { authorization: `Bearer ${token}` };
      },
      secrets,
    });
  const arm =
    options.closeIncidents === undefined ? null : client(options.closeIncidents.armEndpoint, armScope);
  return new SentinelSiem(options, client(options.endpoint, scope), arm);
}
