import { createServer } from 'node:http';
import { attackIds, type CompiledRule } from '../../src/sigma/engine.js';
import { asimViews } from './asim-views.js';
import { answerFault, bodyOf, listenLoopback, send, type HttpFault } from './http-fake.js';
import { evaluateKql, ingestionTime, type KqlRow } from './kql-eval.js';
import { kustoDiagnostics } from './kusto.js';
import type { sysmonParsers } from './sentinel-workspace.js';
import { asimParsers, sentinelWorkspace } from './sentinel-workspace.js';

/**
 * A loopback stand-in for the Log Analytics query API (`POST /v1/workspaces/<id>/query`, Bearer token,
 * `{query, timespan}`, tables of columns and rows, PartialError, 204, the empty 200 for a missing body).
 * Every query is bound by Microsoft's Kusto language service against this workspace's tables and `Sysmon`
 * function, and refused as Log Analytics refuses it (400, SemanticError) when the binder finds an error.
 * Telemetry queries are run by kql-eval.ts over the workspace's rows (`Sysmon` as the v11.0 parser returns
 * them, `SecurityEvent`, and the ASIM parsers' views of both from asim-views.ts); a `SecurityAlert` query gets the alert rows in the timespan. No Defender tables:
 * a lab workspace without Microsoft Defender for Endpoint, so those legs drop out of the fuzzy union. Its
 * ingestion side is a HEC endpoint the simulated lab sends flat events to, standing in for the Azure Monitor
 * Agent; its analytics rules are our Sigma rules, raising SecurityAlert rows with process entities.
 */
export interface FakeSentinel {
  readonly url: string;
  readonly hec: { readonly url: string; readonly token: string };
  readonly queries: { query: string; timespan: string; authorization: string | undefined }[];
  /** The incidents, as the incidents API would return their properties. */
  incidents(): Record<string, unknown>[];
  fail(fault: SentinelFault, times?: number): void;
  close(): Promise<void>;
}

export type SentinelFault = HttpFault | { readonly partial: true } | { readonly noContent: true };

type Row = Record<string, unknown>;

export async function startFakeSentinel(options: {
  readonly workspaceId: string;
  readonly token: string;
  /** Resource Manager's token, for the incidents API. */
  readonly armToken?: string;
  readonly rules?: readonly CompiledRule[];
  /** Which public parser the workspace's `Sysmon` function was saved from; null: there is none. */
  readonly sysmonFunction?: keyof typeof sysmonParsers | null;
  /** The workspace has a SecurityEvent table (default true). */
  readonly securityEvent?: boolean;
  /** The ASIM parsers are also deployed to the workspace (im*); the built-in _Im_* ones always are there. */
  readonly asimDeployed?: boolean;
}): Promise<FakeSentinel> {
  const incidents = new Map<string, { etag: number; properties: Record<string, unknown> }>();
  const telemetry: { Sysmon: KqlRow[]; SecurityEvent: KqlRow[] } = { Sysmon: [], SecurityEvent: [] };
  const workspace = sentinelWorkspace(
    options.sysmonFunction === undefined ? 'v11.0' : options.sysmonFunction,
    {
      defender: false,
      securityEvent: options.securityEvent !== false,
      asimDeployed: options.asimDeployed === true,
    },
  );
  // Loaded now, not by the first poll: the language service takes a second or two to load.
  kustoDiagnostics('print 1', workspace);
  const alerts: Row[] = [];
  const queries: FakeSentinel['queries'] = [];
  const faults: SentinelFault[] = [];
  const hecToken = 'fake-ama-0123456789abcdef';
  let item = 0;

  const incidentFor = (number: number, title: string): string => {
    const name = `0000${String(number).padStart(4, '0')}-aaaa-4bbb-8ccc-${String(number).padStart(12, '0')}`;
    incidents.set(name, {
      etag: 1,
      properties: { title, severity: 'High', status: 'New', incidentNumber: number },
    });
    return name;
  };
  const ingest = (time: Date, fields: Row): void => {
    item += 1;
    const security = fields.Channel === 'Security';
    (security ? telemetry.SecurityEvent : telemetry.Sysmon).push({
      ...fields,
      EventID: Number(fields.EventID),
      Type: security ? 'SecurityEvent' : 'Event',
      TimeGenerated: time,
      _ItemId: `item-${String(item)}`,
      [ingestionTime]: new Date(),
    });
    for (const rule of options.rules ?? []) {
      if (!rule.matches(fields)) continue;
      item += 1;
      alerts.push({
        Type: 'SecurityAlert',
        SystemAlertId: `alert-${String(item)}`,
        AlertName: rule.title,
        AlertSeverity: 'High',
        // Sentinel keeps parent techniques only, as a JSON array in a string column.
        Techniques: JSON.stringify([
          ...new Set(
            attackIds(rule.tags)
              .filter((id) => /^T\d/.test(id))
              .map((id) => id.split('.')[0]),
          ),
        ]),
        TimeGenerated: time.toISOString(),
        CompromisedEntity: fields.Computer,
        ProductName: 'Azure Sentinel',
        Entities: JSON.stringify([
          { Type: 'host', HostName: fields.Computer },
          { Type: 'process', CommandLine: fields.CommandLine, ProcessId: fields.ProcessId },
          ...(typeof fields.TargetFilename === 'string'
            ? [{ Type: 'file', Name: fields.TargetFilename }]
            : []),
          ...(typeof fields.TargetObject === 'string'
            ? [{ Type: 'registry-key', Key: fields.TargetObject }]
            : []),
          ...(typeof fields.QueryName === 'string' ? [{ Type: 'dns', DomainName: fields.QueryName }] : []),
          ...(typeof fields.ImageLoaded === 'string' ? [{ Type: 'file', Name: fields.ImageLoaded }] : []),
        ]),
        ExtendedProperties: JSON.stringify({ 'Analytic Rule Ids': JSON.stringify([rule.id]) }),
        // As if an automation rule grouped each alert into its own incident.
        IncidentName: incidentFor(item, rule.title),
        IncidentNumber: item,
        IncidentTitle: rule.title,
        IncidentStatus: 'New',
      });
    }
  };

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const raw = await bodyOf(request);
      if (url.pathname === '/services/collector/event') {
        if (request.headers.authorization !== `Splunk ${hecToken}`) {
          send(response, 403, { text: 'Invalid token', code: 4 });
          return;
        }
        for (const line of raw.split('\n').filter(Boolean)) {
          const envelope = JSON.parse(line) as { time: number; event: Row };
          ingest(new Date(envelope.time * 1000), envelope.event);
        }
        send(response, 200, { text: 'Success', code: 0 });
        return;
      }
      const incident = /\/providers\/Microsoft\.SecurityInsights\/incidents\/([^/]+)$/.exec(url.pathname);
      if (incident?.[1] !== undefined) {
        if (request.headers.authorization !== `Bearer ${options.armToken ?? ''}`) {
          send(response, 401, {
            error: { code: 'InvalidAuthenticationTokenAudience', message: 'wrong audience' },
          });
          return;
        }
        const name = decodeURIComponent(incident[1]);
        const found = incidents.get(name);
        if (found === undefined || url.searchParams.get('api-version') === null) {
          send(response, 404, { error: { code: 'NotFound', message: `incident ${name}` } });
          return;
        }
        if (request.method === 'PUT') {
          const put = JSON.parse(raw) as { etag?: string; properties: Record<string, unknown> };
          if (put.etag !== `"${String(found.etag)}"` || typeof put.properties.title !== 'string') {
            send(response, 412, { error: { code: 'PreconditionFailed', message: 'etag or title' } });
            return;
          }
          found.etag += 1;
          found.properties = put.properties;
        }
        send(response, 200, { name, etag: `"${String(found.etag)}"`, properties: found.properties });
        return;
      }
      if (url.pathname !== `/v1/workspaces/${options.workspaceId}/query` || request.method !== 'POST') {
        send(response, 404, { error: { code: 'PathNotFoundError', message: 'no such workspace' } });
        return;
      }
      if (request.headers.authorization !== `Bearer ${options.token}`) {
        send(response, 401, { error: { code: 'AuthenticationFailed', message: 'invalid token' } });
        return;
      }
      // The documented gotcha: a POST without its JSON body is answered with an empty 200.
      if (raw === '' || request.headers['content-type'] !== 'application/json') {
        send(response, 200, '');
        return;
      }
      const body = JSON.parse(raw) as { query: string; timespan: string };
      queries.push({ ...body, authorization: request.headers.authorization });
      const fault = faults.shift();
      let partial = false;
      if (fault !== undefined) {
        if ('noContent' in fault) {
          response.writeHead(204);
          response.end();
          return;
        }
        if ('partial' in fault) partial = true;
        else if (
          answerFault(response, fault, {
            malformed: '{"tables":[{"name":"PrimaryResult","columns":',
            status: { error: { code: 'ThrottledError', message: 'too many requests' } },
          })
        )
          return;
      }
      // `X | getschema`: the output columns of a table or function, or the binder's error when X is unknown
      // (Log Analytics answers 400 BadArgumentError with the SemanticError inside).
      const schemaOf = /^(\w+) \| getschema\b/.exec(body.query)?.[1];
      if (schemaOf !== undefined) {
        const declared = workspace.functions[schemaOf] ?? workspace.tables[schemaOf];
        if (declared === undefined) {
          refuse(
            response,
            `'getschema' operator: Failed to resolve table or column expression named '${schemaOf}'`,
          );
          return;
        }
        const columns = [...declared.matchAll(/(\w+):(\w+)/g)].map((m) => [m[1], m[2]]);
        send(response, 200, {
          tables: [
            {
              name: 'PrimaryResult',
              columns: [
                { name: 'ColumnName', type: 'string' },
                { name: 'ColumnType', type: 'string' },
              ],
              rows: columns,
            },
          ],
        });
        return;
      }
      const [from = '', to = ''] = body.timespan.split('/').map((t) => Date.parse(t));
      // The timespan bounds every table the query reads (Log Analytics query API, "timespan").
      const inSpan = (rows: readonly KqlRow[]): KqlRow[] =>
        rows.filter((r) => {
          const t =
            r.TimeGenerated instanceof Date ? r.TimeGenerated.getTime() : Date.parse(String(r.TimeGenerated));
          return t >= Number(from) && t <= Number(to);
        });
      let rows: KqlRow[];
      if (body.query.startsWith('SecurityAlert')) {
        const bound = kustoDiagnostics(body.query, workspace).filter((d) => d.severity === 'Error');
        if (bound.length > 0) {
          refuse(response, bound.map((d) => d.message).join('; '));
          return;
        }
        rows = inSpan(alerts);
      } else {
        const tables = { sysmon: inSpan(telemetry.Sysmon), securityEvent: inSpan(telemetry.SecurityEvent) };
        const asim = Object.entries(asimParsers).flatMap(([name, { workspace: deployed }]) => {
          const rows = asimViews[name]?.(tables) ?? [];
          return [
            [name, rows],
            [deployed, rows],
          ] as const;
        });
        const answer = evaluateKql(body.query, workspace, {
          Sysmon: tables.sysmon,
          SecurityEvent: tables.securityEvent,
          ...Object.fromEntries(asim),
        });
        if ('refused' in answer) {
          refuse(response, answer.refused);
          return;
        }
        rows = answer.rows;
      }
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const typeOf = (name: string): string => {
        const sample = rows.find((r) => r[name] !== undefined && r[name] !== null)?.[name];
        if (sample instanceof Date) return 'datetime';
        if (typeof sample === 'number') return 'long';
        return typeof sample === 'object' ? 'dynamic' : 'string';
      };
      // The query API returns a dynamic value as its JSON text, with datetimes in ISO 8601.
      const cell = (v: unknown): unknown =>
        v instanceof Date
          ? v.toISOString()
          : typeof v === 'object' && v !== null
            ? JSON.stringify(v)
            : (v ?? null);
      send(response, 200, {
        tables: [
          {
            name: 'PrimaryResult',
            columns: columns.map((name) => ({ name, type: typeOf(name) })),
            rows: rows.map((r) => columns.map((c) => cell(r[c]))),
          },
        ],
        ...(partial
          ? { error: { code: 'PartialError', message: 'There were some errors when processing your query.' } }
          : {}),
      });
    })();
  });
  const { url, close } = await listenLoopback(server);
  return {
    url,
    hec: { url, token: hecToken },
    queries,
    incidents: () => [...incidents.entries()].map(([name, i]) => ({ name, ...i.properties })),
    fail(fault, times = 1) {
      for (let i = 0; i < times; i += 1) faults.push(fault);
    },
    close,
  };
}

/** Log Analytics' answer to a query its binder rejects. */
function refuse(response: Parameters<typeof send>[0], message: string): void {
  send(response, 400, {
    error: {
      message: 'The request had some invalid properties',
      code: 'BadArgumentError',
      innererror: { code: 'SemanticError', message },
    },
  });
}
