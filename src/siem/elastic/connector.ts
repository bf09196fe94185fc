import { z } from 'zod';
import {
  SiemError,
  type DetectionQuery,
  type IngestEndpoint,
  type PluginContext,
  type SiemAlert,
  type SiemConnector,
  type SiemEvent,
  type SiemRequirement,
  type TelemetryQuery,
} from '../../core/index.js';
import { fromEcs } from '../../ingest/normalize.js';
import { classify } from '../../signals/classify.js';
import { compileEsBatch } from '../../signals/compile-backends.js';
import { typedEcsFields } from '../../signals/field-map.js';
import { basicAuth, parseAs, secretFrom, siemHttp, textOf as text, type SiemHttp } from '../http.js';
import type { ElasticSiemOptions } from './schema.js';

const plugin = 'elastic';

/** index.max_result_window's default: from + size may not pass it. */
const maxResultWindow = 10_000;

/** `_search` answers, read loosely: only what the harness uses is checked. */
const SearchResponse = z.looseObject({
  timed_out: z.boolean().optional(),
  _shards: z.looseObject({ failed: z.number().default(0) }).optional(),
  hits: z.looseObject({
    /** Elasticsearch 7+: `{value, relation}`; `gte` when counting stopped (track_total_hits). */
    total: z
      .union([z.number(), z.looseObject({ value: z.number(), relation: z.string().optional() })])
      .optional(),
    hits: z.array(
      z.looseObject({ _index: z.string(), _id: z.string(), _source: z.record(z.string(), z.unknown()) }),
    ),
  }),
});

/** The field mapping API's answer: index -> field -> its mapping under the field's leaf name. */
const FieldMappings = z.record(
  z.string(),
  z.looseObject({
    mappings: z
      .record(
        z.string(),
        z.looseObject({ mapping: z.record(z.string(), z.looseObject({ type: z.string().optional() })) }),
      )
      .default({}),
  }),
);

const BulkResponse = z.looseObject({
  items: z.array(z.looseObject({ update: z.looseObject({ status: z.number() }) })),
});

const FindingsResponse = z.looseObject({
  findings: z.array(
    z.looseObject({
      id: z.string(),
      related_doc_ids: z.array(z.string()).default([]),
      queries: z.array(z.looseObject({ id: z.string(), name: z.string() })).default([]),
      timestamp: z.union([z.number(), z.string()]).optional(),
    }),
  ),
});

/** Alert documents use dotted keys at the top level (`kibana.alert.rule.name`); accept nested too. */
function read(source: Record<string, unknown>, path: string): unknown {
  if (path in source) return source[path];
  let node: unknown = source;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function credentials(options: ElasticSiemOptions, ctx: PluginContext): Record<string, string> {
  const need = (name: string | undefined): string => secretFrom(plugin, ctx.env, name ?? '');
  if (options.apiKeyEnv !== undefined) return { authorization: `ApiKey ${need(options.apiKeyEnv)}` };
  return { authorization: basicAuth(need(options.usernameEnv), need(options.passwordEnv)) };
}

/** ATT&CK IDs from a detection rule's `threat` array (tactic, technique and sub-technique ids). */
function threatIds(threat: unknown): string[] {
  const ids: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'id' && typeof value === 'string' && /^T(A)?\d{4}/.test(value)) ids.push(value);
        else visit(value);
      }
    }
  };
  visit(threat);
  return ids;
}

/** The event's ref is `<index>/<_id>`: the alert's ancestors point at the same pair. */
const refOf = (index: string, id: string): string => `${index}/${id}`;
const idOfRef = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);

class ElasticSiem implements SiemConnector {
  readonly id = plugin;
  readonly #options: ElasticSiemOptions;
  readonly #http: SiemHttp;

  readonly #authorization: string;

  constructor(options: ElasticSiemOptions, http: SiemHttp, authorization: string) {
    this.#options = options;
    this.#http = http;
    this.#authorization = authorization;
  }

  describe(): string {
    const origin = new URL(this.#options.url).origin;
    return `${this.#options.flavor === 'opensearch' ? 'OpenSearch' : 'Elasticsearch'} at ${origin} (${this.#options.indices.join(', ')})${this.#options.tls.insecure ? ' [TLS verification OFF]' : ''}`;
  }

  /** The configured index patterns as one path segment. */
  #indexPath(): string {
    return this.#options.indices.map(encodeURIComponent).join(',');
  }

  #body(query: TelemetryQuery): Record<string, unknown> {
    return { ...compileEsBatch(query), size: this.#options.size, sort: [{ '@timestamp': { order: 'asc' } }] };
  }

  queryText(query: TelemetryQuery): string {
    return `POST /${this.#options.indices.join(',')}/_search ${JSON.stringify(this.#body(query))}`;
  }

  /**
   * Every hit of a search, page by page (`from`), or an error: failed shards or a timed-out search are partial
   * answers (retryable), and so is a page that returns fewer hits than `hits.total` says matched. A total
   * past the result window, or only counted as a lower bound (`gte`), cannot be read whole: a query error.
   */
  async #searchAll(
    path: string,
    body: Record<string, unknown>,
    pageSize: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<z.infer<typeof SearchResponse>['hits']['hits']> {
    const hits: z.infer<typeof SearchResponse>['hits']['hits'] = [];
    for (let from = 0; ; from += pageSize) {
      const response = await this.#http.send(
        'POST',
        path,
        {
          query: { ignore_unavailable: 'true', allow_no_indices: 'true' },
          json: {
            ...body,
            size: pageSize,
            ...(from === 0 ? {} : { from }),
            track_total_hits: maxResultWindow,
          },
        },
        signal,
      );
      const data = parseAs(plugin, SearchResponse, response, what);
      // Partial results could hide the very event we look for: not an answer, so the poll tries again.
      const failed = data._shards?.failed ?? 0;
      if (failed > 0 || data.timed_out === true)
        throw new SiemError(
          'E_SIEM_UNAVAILABLE',
          `[siem:${plugin}] partial results: ${failed > 0 ? `${String(failed)} shard(s) failed` : 'the search timed out'}`,
          { retryable: true },
        );
      hits.push(...data.hits.hits);
      const total = data.hits.total;
      const matched = typeof total === 'number' ? total : (total?.value ?? hits.length);
      if ((typeof total === 'object' && total.relation === 'gte') || matched > maxResultWindow)
        throw new SiemError(
          'E_SIEM_QUERY',
          `[siem:${plugin}] ${what}: more than ${String(maxResultWindow)} documents matched, more than one search can return`,
          { hint: 'Narrow `indices` in the SIEM config to the indices that hold Windows events.' },
        );
      if (hits.length >= matched) return hits;
      if (data.hits.hits.length === 0)
        throw new SiemError(
          'E_SIEM_UNAVAILABLE',
          `[siem:${plugin}] ${what}: ${String(matched)} documents matched but only ${String(hits.length)} came back`,
          { retryable: true },
        );
    }
  }

  async findTelemetry(query: TelemetryQuery, signal?: AbortSignal) {
    const { size, ...body } = this.#body(query);
    const found = await this.#searchAll(
      `/${this.#indexPath()}/_search`,
      body,
      Number(size),
      '_search',
      signal,
    );
    const events: SiemEvent[] = [];
    for (const hit of found) {
      const outcome = fromEcs(hit._source);
      if (!('event' in outcome)) continue;
      const { fields, time } = outcome.event;
      events.push({
        ref: refOf(hit._index, hit._id),
        time,
        indexedAt: text(read(hit._source, 'event.ingested')) || null,
        host: text(fields.Computer),
        eventId: Number(fields.EventID),
        fields,
      });
    }
    return classify(query, events);
  }

  async findDetections(
    query: Parameters<SiemConnector['findDetections']>[0],
    signal?: AbortSignal,
  ): Promise<readonly SiemAlert[]> {
    if (query.eventRefs.length === 0) return [];
    const ids = new Map(query.eventRefs.map((ref) => [idOfRef(ref), ref]));
    if (this.#options.flavor === 'opensearch') return this.#findings(ids, query.host, signal);
    const { size, ...body } = this.#alertsBody(query);
    // An alert search that missed shards could hide the alert: partial, never "no alert".
    const found = await this.#searchAll(
      `/${encodeURIComponent(this.#options.alertsIndex)}/_search`,
      body,
      Number(size),
      'alerts',
      signal,
    );
    return found.flatMap((hit): SiemAlert[] => {
      const source = hit._source;
      const ancestors = read(source, 'kibana.alert.ancestors');
      const refs = (Array.isArray(ancestors) ? ancestors : [ancestors])
        .map((a) => (typeof a === 'object' && a !== null ? text((a as Record<string, unknown>).id) : ''))
        .flatMap((id) => {
          const ref = ids.get(id);
          return ref === undefined ? [] : [ref];
        });
      if (refs.length === 0) return [];
      return [
        {
          ref: refOf(hit._index, hit._id),
          ruleId:
            text(read(source, 'kibana.alert.rule.rule_id')) || text(read(source, 'kibana.alert.rule.uuid')),
          title: text(read(source, 'kibana.alert.rule.name')),
          level: text(read(source, 'kibana.alert.severity')) || 'unknown',
          host: text(read(source, 'host.name')) || query.host,
          time: text(read(source, '@timestamp')),
          eventRefs: refs,
          attack: threatIds(read(source, 'kibana.alert.rule.threat')),
        },
      ];
    });
  }

  /** Alerts whose ancestors are the matched documents (by `_id`). */
  #alertsBody(query: DetectionQuery): Record<string, unknown> {
    return {
      size: 500,
      query: {
        bool: {
          filter: [
            { range: { '@timestamp': { gte: query.since.toISOString() } } },
            { terms: { 'kibana.alert.ancestors.id': query.eventRefs.map(idOfRef) } },
          ],
        },
      },
    };
  }

  detectionText(query: DetectionQuery): string {
    return this.#options.flavor === 'opensearch'
      ? 'GET /_plugins/_security_analytics/findings/_search?detectorType=windows&sortOrder=desc&size=500'
      : `POST /${this.#options.alertsIndex}/_search ${JSON.stringify(this.#alertsBody(query))}`;
  }

  /** Sets the test's Security alerts to `closed` with a reason naming the run: one `_bulk` of partial updates. */
  async closeAlerts(
    alerts: readonly { readonly ref: string }[],
    note: string,
    signal?: AbortSignal,
  ): Promise<readonly string[] | null> {
    if (!this.#options.closeAlerts || this.#options.flavor !== 'elastic') return null;
    const targets = alerts.filter((a) => a.ref.includes('/') && !a.ref.startsWith('finding/'));
    if (targets.length === 0) return [];
    const body = targets
      .flatMap((a) => [
        JSON.stringify({
          update: { _index: a.ref.slice(0, a.ref.lastIndexOf('/')), _id: idOfRef(a.ref) },
        }),
        JSON.stringify({
          doc: { 'kibana.alert.workflow_status': 'closed', 'kibana.alert.workflow_reason': note },
        }),
      ])
      .join('\n');
    const response = await this.#http.send(
      'POST',
      '/_bulk',
      { body: `${body}\n`, headers: { 'content-type': 'application/x-ndjson' } },
      signal,
    );
    const answer = parseAs(plugin, BulkResponse, response, '_bulk');
    return answer.items.flatMap((item, i) => {
      const ref = targets[i]?.ref;
      return ref !== undefined && item.update.status < 300 ? [ref] : [];
    });
  }

  /** OpenSearch Security Analytics: findings name the documents they matched (related_doc_ids). */
  async #findings(
    ids: ReadonlyMap<string, string>,
    host: string,
    signal?: AbortSignal,
  ): Promise<SiemAlert[]> {
    const response = await this.#http.send(
      'GET',
      '/_plugins/_security_analytics/findings/_search',
      { query: { detectorType: 'windows', sortOrder: 'desc', size: '500' } },
      signal,
    );
    const data = parseAs(plugin, FindingsResponse, response, 'findings');
    return data.findings.flatMap((finding): SiemAlert[] => {
      const refs = finding.related_doc_ids.flatMap((id) => {
        const ref = ids.get(id);
        return ref === undefined ? [] : [ref];
      });
      const rule = finding.queries[0];
      if (refs.length === 0 || rule === undefined) return [];
      const at = finding.timestamp === undefined ? '' : new Date(finding.timestamp).toISOString();
      return [
        {
          ref: `finding/${finding.id}`,
          ruleId: rule.id,
          title: rule.name,
          level: 'unknown',
          host,
          time: at,
          eventRefs: refs,
        },
      ];
    });
  }

  /**
   * The field mappings the queries depend on, in every index the patterns match (field mapping API): the
   * typed ECS fields must have their ECS type, above all process.pid, which Security events write in hex
   * and which a keyword mapping would keep as text no numeric term can find.
   */
  async checkRequirements(signal?: AbortSignal): Promise<readonly SiemRequirement[]> {
    const fields = typedEcsFields();
    const response = await this.#http.send(
      'GET',
      `/${this.#indexPath()}/_mapping/field/${fields.map((f) => f.field).join(',')}`,
      { query: { ignore_unavailable: 'true', allow_no_indices: 'true' } },
      signal,
    );
    const indices = parseAs(plugin, FieldMappings, response, '_mapping/field');
    const names = Object.keys(indices);
    if (names.length === 0)
      return [
        {
          name: 'indices',
          ok: false,
          detail: `no index matches ${this.#options.indices.join(', ')}`,
          fix: 'Set `indices` in the SIEM config to the index patterns that hold Sysmon and Security events (ECS).',
        },
      ];
    return fields.map(({ field, type }) => {
      const wrong = names.flatMap((index) => {
        const found = indices[index]?.mappings[field]?.mapping;
        const actual = found === undefined ? undefined : Object.values(found)[0]?.type;
        const accepted = type === 'long' ? ['long', 'integer', 'unsigned_long'] : ['ip'];
        return actual === undefined || accepted.includes(actual) ? [] : [`${index}: ${actual}`];
      });
      return {
        name: field,
        ok: wrong.length === 0,
        detail:
          wrong.length === 0
            ? `${type} (or absent) in ${String(names.length)} index(es)`
            : `mapped otherwise than ECS's ${type} in ${wrong.join('; ')}`,
        fix:
          wrong.length === 0
            ? null
            : `Map ${field} as ${type}, as the ECS templates of the Windows and System integrations do${field.endsWith('.pid') ? "; Security events need the System integration's pipeline, which decodes their hex process ids" : ''}, and reindex.`,
      };
    });
  }

  /** The simulated lab writes ECS documents into logs-<dataset>-<labNamespace> (needs create_doc on them). */
  ingestEndpoint(): IngestEndpoint {
    return {
      protocol: 'elastic-bulk',
      url: this.#options.url.replace(/\/$/, ''),
      authorization: this.#authorization,
      namespace: this.#options.labNamespace,
    };
  }

  dispose(): Promise<void> {
    return this.#http.close();
  }
}

/** The implementation `elasticSiem.load()` hands out. */
// eslint-disable-next-line @typescript-eslint/require-await -- async so a missing secret rejects, never throws
export async function create(options: ElasticSiemOptions, ctx: PluginContext): Promise<SiemConnector> {
  // Credentials are read now, so a missing variable fails before any emulation runs.
  const headers = credentials(options, ctx);
  const secrets = new Set([...ctx.secrets, ...Object.values(headers)]);
  const http = siemHttp({
    plugin,
    baseUrl: options.url,
    tls: options.tls,
    timeoutMs: options.timeoutMs,
    auth: () => Promise.resolve(headers),
    secrets,
  });
  return new ElasticSiem(options, http, headers.authorization ?? '');
}
