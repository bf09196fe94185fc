import { isIP } from 'node:net';
import { createServer, type Server } from 'node:http';
import { fromEcs } from '../../src/ingest/normalize.js';
import { attackIds, type CompiledRule } from '../../src/sigma/engine.js';
import { answerFault, bodyOf, listenLoopback, send, type HttpFault } from './http-fake.js';

/**
 * A loopback stand-in for Elasticsearch's documented API: `_bulk` (NDJSON), `_search` over comma-separated
 * index patterns with the query DSL subset the harness generates (bool filter/must/should with
 * minimum_should_match, term, terms, range, wildcard, prefix, case_insensitive), the Security alerts index,
 * OpenSearch Security Analytics findings, ApiKey/Basic auth, and injectable faults.
 */
export interface FakeElastic {
  readonly url: string;
  readonly requests: { method: string; path: string; body: unknown; authorization: string | undefined }[];
  /** Why each search answered 400 was refused (see rejection). */
  readonly refused: string[];
  index(index: string, doc: Record<string, unknown>, id?: string): string;
  /** Puts a Security alert (dotted keys, as Kibana writes them) on documents, like a detection rule would. */
  alert(
    rule: Pick<CompiledRule, 'id' | 'title' | 'tags'>,
    ancestors: readonly { index: string; id: string }[],
  ): void;
  finding(ruleId: string, name: string, docIds: readonly string[]): void;
  /** Every document of an index, as stored (alerts included). */
  documents(index: string): Record<string, unknown>[];
  /** The next n `_search` calls answer with this fault instead. */
  fail(fault: Fault, times?: number): void;
  close(): Promise<void>;
}

export type Fault = HttpFault | { readonly shardsFailed: number };

type Doc = { index: string; id: string; source: Record<string, unknown> };

function values(source: unknown, path: string): unknown[] {
  if (Array.isArray(source)) return source.flatMap((item) => values(item, path));
  if (typeof source !== 'object' || source === null) return [];
  const record = source as Record<string, unknown>;
  if (path in record) return [record[path]].flat();
  const [head = '', ...rest] = path.split('.');
  // Dotted keys and nested objects both occur; try every split point.
  for (let i = path.split('.').length - 1; i >= 1; i -= 1) {
    const key = path.split('.').slice(0, i).join('.');
    if (key in record) return values(record[key], path.split('.').slice(i).join('.'));
  }
  const next = record[head];
  if (rest.length === 0) return next === undefined ? [] : [next].flat();
  return [next].flat().flatMap((n) => values(n, rest.join('.')));
}

function like(value: unknown, pattern: string, insensitive: boolean): boolean {
  const a = insensitive ? String(value).toLowerCase() : String(value);
  const p = insensitive ? pattern.toLowerCase() : pattern;
  const regex = new RegExp(
    `^${p.replace(
      /\\([\\*?])|([.+^${}()|[\]\\])|(\*)|(\?)/g,
      (_, escaped?: string, special?: string, star?: string, q?: string) =>
        escaped !== undefined
          ? `\\${escaped}`
          : special !== undefined
            ? `\\${special}`
            : star !== undefined
              ? '.*'
              : q !== undefined
                ? '.'
                : '',
    )}$`,
    's',
  );
  return regex.test(a);
}

function spec(clause: unknown): [string, Record<string, unknown>] {
  const [field = '', raw] = Object.entries((clause ?? {}) as Record<string, unknown>)[0] ?? [];
  return [
    field,
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>)
      : { value: raw },
  ];
}

/**
 * ECS fields that are not keywords in the Elastic/Winlogbeat templates (ECS reference: process.pid and
 * destination.port are long, destination.ip is ip). Elasticsearch refuses wildcard and prefix queries on them
 * ("Can only use wildcard queries on keyword and text fields"), and a term that does not parse as the type.
 */
const typedFields: Readonly<Record<string, 'long' | 'ip'>> = {
  'process.pid': 'long',
  'process.parent.pid': 'long',
  'destination.port': 'long',
  'source.port': 'long',
  'destination.ip': 'ip',
  'source.ip': 'ip',
};

/**
 * Why Elasticsearch would refuse to index this document, or null. With `ignore_malformed` off (its default,
 * Elasticsearch reference "ignore_malformed"), a value a field's type cannot parse rejects the whole document;
 * `coerce` (on by default) still takes a numeric string for a number field. The `_bulk` answer then carries
 * `errors: true` and the item's own status and error, while the request itself is a 200 (Bulk API reference).
 */
export function mappingError(
  source: Record<string, unknown>,
  types: Readonly<Record<string, 'long' | 'ip'>> = typedFields,
): string | null {
  for (const [field, type] of Object.entries(types)) {
    for (const value of values(source, field)) {
      const ok =
        type === 'long'
          ? (typeof value === 'number' && Number.isInteger(value)) ||
            (typeof value === 'string' && /^-?\d+$/.test(value))
          : typeof value === 'string' && isIP(value) !== 0;
      if (!ok)
        return `failed to parse field [${field}] of type [${type}] in document. Preview of field's value: '${String(value)}'`;
    }
  }
  return null;
}

/** Why Elasticsearch would refuse this query with HTTP 400, or null. */
export function rejection(
  query: unknown,
  types: Readonly<Record<string, 'long' | 'ip'>> = typedFields,
): string | null {
  if (query === null || typeof query !== 'object') return null;
  for (const [kind, body] of Object.entries(query as Record<string, unknown>)) {
    if (kind === 'wildcard' || kind === 'prefix') {
      const [field] = spec(body);
      const type = types[field];
      if (type !== undefined)
        return `Can only use ${kind} queries on keyword and text fields - not on [${field}] which is of type [${type}]`;
    }
    if (kind === 'term') {
      const [field, s] = spec(body);
      const type = types[field];
      const value = String(s.value);
      if (type === 'long' && !/^-?\d+$/.test(value))
        return `failed to create query: For input string: "${value}"`;
      if (type === 'ip' && isIP(value) === 0)
        return `failed to create query: '${value}' is not an IP string literal.`;
    }
    const nested = Array.isArray(body)
      ? body
      : typeof body === 'object' && body !== null
        ? Object.values(body)
        : [];
    for (const child of nested.flat()) {
      const why = kind === 'bool' || Array.isArray(body) ? rejection(child, types) : null;
      if (why !== null) return why;
    }
  }
  return null;
}

export function matches(query: unknown, source: Record<string, unknown>): boolean {
  if (query === undefined) return true;
  const [kind = '', body] = Object.entries(query as Record<string, unknown>)[0] ?? [];
  switch (kind) {
    case 'match_all':
      return true;
    case 'bool': {
      const b = body as Record<string, unknown[] | number | undefined>;
      const all = [
        ...((b.filter as unknown[] | undefined) ?? []),
        ...((b.must as unknown[] | undefined) ?? []),
      ];
      if (!all.every((q) => matches(q, source))) return false;
      if (((b.must_not as unknown[] | undefined) ?? []).some((q) => matches(q, source))) return false;
      const should = (b.should as unknown[] | undefined) ?? [];
      const min =
        (b.minimum_should_match as number | undefined) ?? (all.length === 0 && should.length > 0 ? 1 : 0);
      return should.filter((q) => matches(q, source)).length >= min;
    }
    case 'term': {
      const [field, s] = spec(body);
      return values(source, field).some((v) =>
        s.case_insensitive === true
          ? String(v).toLowerCase() === String(s.value).toLowerCase()
          : String(v) === String(s.value),
      );
    }
    case 'terms': {
      const [field, list] = Object.entries(body as Record<string, unknown[]>)[0] ?? ['', []];
      return values(source, field).some((v) => list.map(String).includes(String(v)));
    }
    case 'range': {
      const [field, s] = spec(body);
      return values(source, field).some((v) => {
        const t = Date.parse(String(v));
        return (
          (typeof s.gte !== 'string' || t >= Date.parse(s.gte)) &&
          (typeof s.lte !== 'string' || t <= Date.parse(s.lte))
        );
      });
    }
    case 'wildcard': {
      const [field, s] = spec(body);
      return values(source, field).some((v) => like(v, String(s.value), s.case_insensitive === true));
    }
    case 'prefix': {
      const [field, s] = spec(body);
      const want = String(s.value);
      return values(source, field).some((v) =>
        s.case_insensitive === true
          ? String(v).toLowerCase().startsWith(want.toLowerCase())
          : String(v).startsWith(want),
      );
    }
    default:
      throw new Error(`fake elastic: unsupported query clause ${kind}`);
  }
}

export async function startFakeElastic(options: {
  authorization: string;
  /** A detection engine: each rule is run on every indexed document, and a match becomes a Security alert. */
  rules?: readonly CompiledRule[];
  /** Fields this cluster's own index template types otherwise (a legacy or custom template). */
  mappings?: Readonly<Record<string, 'long' | 'ip' | 'keyword'>>;
}): Promise<FakeElastic> {
  const declared: Record<string, 'long' | 'ip' | 'keyword'> = { ...typedFields, ...options.mappings };
  // Only number and ip fields refuse values and queries; a keyword takes anything.
  const types = Object.fromEntries(
    Object.entries(declared).filter((entry): entry is [string, 'long' | 'ip'] => entry[1] !== 'keyword'),
  );
  const docs: Doc[] = [];
  const requests: FakeElastic['requests'] = [];
  const refusedSearches: string[] = [];
  const faults: Fault[] = [];
  let next = 1;
  const add = (index: string, source: Record<string, unknown>, id?: string): string => {
    const docId = id ?? `doc${String(next++)}`;
    docs.push({ index, id: docId, source });
    return docId;
  };
  const findings: Record<string, unknown>[] = [];
  function alertOn(
    rule: Pick<CompiledRule, 'id' | 'title' | 'tags'>,
    ancestors: readonly { index: string; id: string }[],
  ): void {
    const ids = attackIds(rule.tags);
    const tactic = ids.find((id) => id.startsWith('TA'));
    const subtechniques = ids.filter((id) => id.includes('.'));
    add('.alerts-security.alerts-default', {
      '@timestamp': new Date().toISOString(),
      'kibana.alert.rule.rule_id': rule.id,
      'kibana.alert.rule.name': rule.title,
      // The rule's MITRE mapping, in the shape Kibana's detection rules keep it.
      'kibana.alert.rule.threat': [
        {
          framework: 'MITRE ATT&CK',
          ...(tactic === undefined ? {} : { tactic: { id: tactic, name: tactic } }),
          technique: [...new Set(subtechniques.map((id) => id.split('.')[0] ?? id))].map((id) => ({
            id,
            subtechnique: subtechniques.filter((s) => s.startsWith(`${id}.`)).map((s) => ({ id: s })),
          })),
        },
      ],
      'kibana.alert.severity': 'high',
      'kibana.alert.ancestors': ancestors.map((a) => ({ ...a, type: 'event', depth: 0 })),
      'event.kind': 'signal',
    });
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const raw = await bodyOf(request);
      let body: unknown = raw;
      try {
        body = raw === '' ? undefined : (JSON.parse(raw) as unknown);
      } catch {
        // _bulk is NDJSON
      }
      requests.push({
        method: request.method ?? '',
        path: url.pathname,
        body,
        authorization: request.headers.authorization,
      });
      if (request.headers.authorization !== options.authorization) {
        send(response, 401, {
          error: { type: 'security_exception', reason: 'unable to authenticate user' },
          status: 401,
        });
        return;
      }
      if (url.pathname === '/_bulk' && request.method === 'POST') {
        const lines = raw.split('\n').filter(Boolean);
        const items = [];
        let errors = false;
        for (let i = 0; i + 1 < lines.length; i += 2) {
          const action = JSON.parse(lines[i] ?? '{}') as {
            index?: { _index?: string; _id?: string };
            create?: { _index?: string; _id?: string };
            update?: { _index?: string; _id?: string };
          };
          if (action.update) {
            const { _index, _id } = action.update;
            const doc = docs.find((d) => d.index === _index && d.id === _id);
            const partial = (JSON.parse(lines[i + 1] ?? '{}') as { doc?: Record<string, unknown> }).doc ?? {};
            if (doc) Object.assign(doc.source, partial);
            items.push({ update: { _index, _id, status: doc ? 200 : 404 } });
            continue;
          }
          const target = action.create ?? action.index ?? {};
          const source = JSON.parse(lines[i + 1] ?? '{}') as Record<string, unknown>;
          const index = target._index ?? 'unknown';
          const malformed = mappingError(source, types);
          if (malformed !== null) {
            errors = true;
            items.push({
              create: {
                _index: index,
                status: 400,
                error: { type: 'document_parsing_exception', reason: malformed },
              },
            });
            continue;
          }
          const id = add(index, source, target._id);
          const flat = fromEcs(source);
          for (const rule of options.rules ?? []) {
            if ('event' in flat && rule.matches(flat.event.fields)) alertOn(rule, [{ index, id }]);
          }
          items.push({ create: { _index: target._index, _id: id, status: 201 } });
        }
        send(response, 200, { took: 1, errors, items });
        return;
      }
      // Get field mapping API: `GET /<indices>/_mapping/field/<fields>` answers, per index, each field's type
      // under its leaf name; an index without the field has none, and no matching index answers `{}`.
      const fieldMapping = /^\/([^/]+)\/_mapping\/field\/([^/]+)$/.exec(url.pathname);
      if (fieldMapping?.[1] !== undefined && fieldMapping[2] !== undefined && request.method === 'GET') {
        const patterns = decodeURIComponent(fieldMapping[1]).split(',');
        const fields = decodeURIComponent(fieldMapping[2]).split(',');
        const indices = [...new Set(docs.map((d) => d.index))].filter((i) =>
          patterns.some((p) => like(i, p, false)),
        );
        send(
          response,
          200,
          Object.fromEntries(
            indices.map((index) => [
              index,
              {
                mappings: Object.fromEntries(
                  fields.flatMap((field) => {
                    const has = docs.some((d) => d.index === index && values(d.source, field).length > 0);
                    if (!has) return [];
                    const leaf = field.split('.').at(-1) ?? field;
                    return [
                      [
                        field,
                        { full_name: field, mapping: { [leaf]: { type: declared[field] ?? 'keyword' } } },
                      ],
                    ];
                  }),
                ),
              },
            ]),
          ),
        );
        return;
      }
      if (url.pathname === '/_plugins/_security_analytics/findings/_search') {
        send(response, 200, { total_findings: findings.length, findings });
        return;
      }
      const search = /^\/([^/]+)\/_search$/.exec(url.pathname);
      if (search?.[1] !== undefined && request.method === 'POST') {
        const fault = faults.shift();
        if (
          fault !== undefined &&
          answerFault(response, fault, {
            malformed: '{"took": 3, "hits": {',
            status: { error: { type: 'es_rejected_execution_exception' } },
          })
        )
          return;
        const refused = rejection((body as { query?: unknown }).query, types);
        if (refused !== null) {
          refusedSearches.push(refused);
          send(response, 400, {
            error: {
              root_cause: [{ type: 'query_shard_exception', reason: refused }],
              type: 'search_phase_execution_exception',
              reason: 'all shards failed',
            },
            status: 400,
          });
          return;
        }
        const patterns = decodeURIComponent(search[1]).split(',');
        const q = body as {
          query?: unknown;
          size?: number;
          from?: number;
          track_total_hits?: number | boolean;
        };
        const matched = docs
          .filter((d) => patterns.some((p) => like(d.index, p, false)))
          .filter((d) => matches(q.query, d.source));
        // Search API: `hits.total` counts every match, not the page (accurately up to track_total_hits,
        // 10,000 by default, then `relation: gte`); `from` + `size` pick the page (size defaults to 10).
        const from = q.from ?? 0;
        const hits = matched
          .slice(from, from + (q.size ?? 10))
          .map((d) => ({ _index: d.index, _id: d.id, _score: null, _source: d.source }));
        const tracked = typeof q.track_total_hits === 'number' ? q.track_total_hits : 10_000;
        const total =
          matched.length > tracked
            ? { value: tracked, relation: 'gte' }
            : { value: matched.length, relation: 'eq' };
        const shardsFailed = fault !== undefined && 'shardsFailed' in fault ? fault.shardsFailed : 0;
        send(response, 200, {
          took: 2,
          timed_out: false,
          _shards: { total: 3, successful: 3 - shardsFailed, skipped: 0, failed: shardsFailed },
          hits: { total, max_score: null, hits },
        });
        return;
      }
      send(response, 404, { error: { type: 'not_found' }, status: 404 });
    })();
  });
  const { url, close } = await listenLoopback(server);
  return {
    url,
    requests,
    refused: refusedSearches,
    index: add,
    alert: alertOn,
    documents: (index) => docs.filter((d) => d.index === index).map((d) => d.source),
    finding(ruleId, name, docIds) {
      findings.push({
        id: `f${String(findings.length + 1)}`,
        related_doc_ids: docIds,
        queries: [{ id: ruleId, name }],
        timestamp: Date.now(),
      });
    },
    fail(fault, times = 1) {
      for (let i = 0; i < times; i += 1) faults.push(fault);
    },
    close,
  };
}
