import { createServer } from 'node:http';
import { fromXml } from '../../src/ingest/normalize.js';
import type { CompiledRule } from '../../src/sigma/engine.js';
import { answerFault, bodyOf, listenLoopback, send, type HttpFault } from './http-fake.js';
import { classicFields, evaluateSpl, parseSpl } from './spl-eval.js';

/**
 * A loopback stand-in for Splunk's documented behaviour: HEC (`POST /services/collector/event`, concatenated
 * envelopes, `Authorization: Splunk <token>`), and the streaming search export
 * (`POST /servicesNS/<owner>/<app>/search/v2/jobs/export`, form-encoded, `output_mode=json` NDJSON with
 * preview rows and a last row). Searches are evaluated by spl-eval.ts (Splunk's documented search
 * semantics) over the fields Splunk would have: XML events' `<Data Name>` fields, classic events' add-on
 * extractions (spaces made underscores), and host/source/sourcetype/index. Its "Enterprise Security" runs
 * our Sigma rules on each event as it arrives and writes notables.
 */
export interface FakeSplunk {
  readonly url: string;
  readonly searches: {
    search: string;
    earliest: string;
    latest: string;
    authorization: string | undefined;
  }[];
  /** Saved searches dispatched on demand, by name. */
  readonly dispatched: string[];
  /** The notables stored, with their fields (status and comment after notable_update). */
  notables(): Record<string, string | string[]>[];
  /** Indexes one event as HEC would (raw text, usually XmlWinEventLog XML). */
  add(event: {
    time: Date;
    host: string;
    index: string;
    source: string;
    sourcetype: string;
    raw: string;
  }): void;
  fail(fault: SplunkFault, times?: number): void;
  close(): Promise<void>;
}

/**
 * `truncated`: the stream stops after the result rows, before the row marked `lastrow` (a dropped proxy
 * connection at a line boundary). `warn`: complete rows, with a WARN message saying they may be incomplete,
 * as a search head reports a search peer that did not answer.
 */
export type SplunkFault =
  HttpFault | { readonly fatal: string } | { readonly truncated: true } | { readonly warn: string };

interface Stored {
  time: Date;
  indexTime: Date;
  host: string;
  index: string;
  source: string;
  sourcetype: string;
  raw: string;
  /** Search-time fields; a repeated classic field is multivalue. */
  fields: Record<string, string | string[]>;
  cd: string;
}

export async function startFakeSplunk(options: {
  readonly token: string;
  readonly hecToken: string;
  readonly rules?: readonly CompiledRule[];
  /** Correlation searches run only when dispatched (as on a schedule that has not come round yet). */
  readonly notablesOnDispatch?: boolean;
  /** Plain Splunk, no ES: a matching rule is a saved search whose alert fires (Triggered Alerts), not a notable. */
  readonly plain?: boolean;
}): Promise<FakeSplunk> {
  const fired = new Map<string, { sid: string; time: Date; rows: Stored['fields'][] }[]>();
  const events: Stored[] = [];
  const pending: Stored[] = [];
  const dispatched: string[] = [];
  const searches: FakeSplunk['searches'] = [];
  const faults: SplunkFault[] = [];
  let serial = 0;

  const add: FakeSplunk['add'] = (event) => {
    serial += 1;
    const stored: Stored = { ...event, indexTime: new Date(), fields: {}, cd: `0:${String(serial)}` };
    const [parsed] = event.raw.startsWith('<Event') ? fromXml(event.raw) : [];
    if (parsed === undefined) stored.fields = classicFields(event.raw);
    if (parsed !== undefined && 'event' in parsed) {
      for (const [name, value] of Object.entries(parsed.event.fields)) stored.fields[name] = String(value);
      stored.fields.EventCode = String(parsed.event.fields.EventID);
      for (const rule of options.rules ?? []) {
        if (!rule.matches(parsed.event.fields)) continue;
        serial += 1;
        if (options.plain === true) {
          const list = fired.get(rule.title) ?? [];
          list.push({
            sid: `scheduler__admin__search__RMD5${String(serial)}`,
            time: event.time,
            rows: [{ ...stored.fields }],
          });
          fired.set(rule.title, list);
          continue;
        }
        const f = (name: string): string => {
          const value = parsed.event.fields[name];
          return typeof value === 'string' ? value : '';
        };
        // An ES notable: the correlation search's name and the fields it returned (CIM names).
        (options.notablesOnDispatch === true ? pending : events).push({
          time: event.time,
          indexTime: new Date(),
          host: 'es-search-head',
          index: 'notable',
          source: `Endpoint - ${rule.title} - Rule`,
          sourcetype: 'stash',
          raw: `search_name="Endpoint - ${rule.title} - Rule"`,
          cd: `1:${String(serial)}`,
          fields: {
            event_id: `ES-${String(serial)}`,
            search_name: `Endpoint - ${rule.title} - Rule`,
            rule_title: rule.title,
            urgency: rule.level,
            dest: event.host,
            process: f('CommandLine'),
            process_guid: f('ProcessGuid'),
            file_path: f('TargetFilename') || f('ImageLoaded'),
            registry_path: f('TargetObject'),
            query: f('QueryName'),
          },
        });
      }
    }
    events.push(stored);
  };

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const raw = await bodyOf(request);
      const dispatch = /^\/servicesNS\/[^/]+\/[^/]+\/saved\/searches\/([^/]+)\/dispatch$/.exec(url.pathname);
      if (dispatch?.[1] !== undefined && request.method === 'POST') {
        if (request.headers.authorization !== `Bearer ${options.token}`) {
          send(response, 401, '{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}');
          return;
        }
        const form = new URLSearchParams(raw);
        if (form.get('trigger_actions') !== '1') {
          send(response, 400, '{"messages":[{"type":"ERROR","text":"expected trigger_actions=1"}]}');
          return;
        }
        dispatched.push(decodeURIComponent(dispatch[1]));
        // The correlation search ran: its notables appear.
        events.push(...pending.splice(0));
        send(response, 201, JSON.stringify({ sid: `scheduler__admin__${String(dispatched.length)}` }));
        return;
      }
      const firedFor = /^\/servicesNS\/-\/-\/alerts\/fired_alerts\/([^/]+)$/.exec(url.pathname);
      if (firedFor?.[1] !== undefined && request.method === 'GET') {
        const list = fired.get(decodeURIComponent(firedFor[1]));
        if (list === undefined) {
          send(response, 404, '{"messages":[{"type":"ERROR","text":"Not Found"}]}');
          return;
        }
        const entry = list.map((a) => ({
          name: a.sid,
          content: {
            sid: a.sid,
            savedsearch_name: decodeURIComponent(firedFor[1] ?? ''),
            severity: 4,
            trigger_time: Math.floor(a.time.getTime() / 1000),
          },
        }));
        send(response, 200, JSON.stringify({ entry }));
        return;
      }
      const jobResults = /^\/services\/search\/v2\/jobs\/([^/]+)\/results$/.exec(url.pathname);
      if (jobResults?.[1] !== undefined && request.method === 'POST') {
        const job = [...fired.values()].flat().find((a) => a.sid === decodeURIComponent(jobResults[1] ?? ''));
        if (job === undefined) {
          send(response, 404, '{"messages":[{"type":"FATAL","text":"Unknown sid."}]}');
          return;
        }
        send(
          response,
          200,
          JSON.stringify({ preview: false, init_offset: 0, messages: [], results: job.rows }),
        );
        return;
      }
      if (url.pathname === '/services/notable_update' && request.method === 'POST') {
        if (request.headers.authorization !== `Bearer ${options.token}`) {
          send(response, 401, '{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}');
          return;
        }
        const form = new URLSearchParams(raw);
        const ids = form.getAll('ruleUIDs');
        for (const stored of events.filter((e) => ids.includes(String(e.fields.event_id ?? '')))) {
          stored.fields.status = form.get('status') ?? '';
          stored.fields.comment = form.get('comment') ?? '';
        }
        send(
          response,
          200,
          JSON.stringify({
            success: true,
            message: `${String(ids.length)} event(s) updated`,
            failure_count: 0,
          }),
        );
        return;
      }
      if (url.pathname === '/services/collector/event') {
        if (request.headers.authorization !== `Splunk ${options.hecToken}`) {
          send(response, 403, '{"text":"Invalid token","code":4}');
          return;
        }
        for (const line of raw.split('\n').filter(Boolean)) {
          const envelope = JSON.parse(line) as {
            time: number;
            host: string;
            index?: string;
            source?: string;
            sourcetype?: string;
            event: unknown;
          };
          add({
            time: new Date(envelope.time * 1000),
            host: envelope.host,
            index: envelope.index ?? 'main',
            source: envelope.source ?? 'http',
            sourcetype: envelope.sourcetype ?? 'httpevent',
            raw: typeof envelope.event === 'string' ? envelope.event : JSON.stringify(envelope.event),
          });
        }
        send(response, 200, '{"text":"Success","code":0}');
        return;
      }
      if (
        /^\/servicesNS\/[^/]+\/[^/]+\/search\/v2\/jobs\/export$/.test(url.pathname) &&
        request.method === 'POST'
      ) {
        const form = new URLSearchParams(raw);
        const search = form.get('search') ?? '';
        searches.push({
          search,
          earliest: form.get('earliest_time') ?? '',
          latest: form.get('latest_time') ?? '',
          authorization: request.headers.authorization,
        });
        if (request.headers.authorization !== `Bearer ${options.token}`) {
          send(response, 401, '{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}');
          return;
        }
        const shifted = faults.shift();
        const partial =
          shifted !== undefined && ('truncated' in shifted || 'warn' in shifted) ? shifted : null;
        const fault = partial === null ? shifted : undefined;
        if (fault !== undefined && !('truncated' in fault) && !('warn' in fault)) {
          if ('fatal' in fault) {
            send(
              response,
              200,
              `${JSON.stringify({ preview: false, messages: [{ type: 'FATAL', text: fault.fatal }] })}\n`,
            );
            return;
          }
          answerFault(response, fault, {
            malformed: '{"preview":false,"offset":0,"result":{"_raw":',
            status:
              '{"messages":[{"type":"FATAL","text":"Search not executed: The maximum number of concurrent historical searches for this user based on their role quota has been reached."}]}',
          });
          return;
        }
        if (!search.startsWith('search ') && !search.startsWith('|')) {
          send(response, 400, '{"messages":[{"type":"FATAL","text":"Unknown search command"}]}');
          return;
        }
        // `search ... | stats count by F` (Search Reference, "stats"): one row per value of F with its count.
        const [head = '', ...pipes] = splitPipes(search);
        const stats = pipes.map((p) => /^stats count by (\w+)$/.exec(p.trim())?.[1]);
        if (stats.some((by) => by === undefined)) {
          send(
            response,
            400,
            JSON.stringify({ messages: [{ type: 'FATAL', text: `Unknown search command in: ${search}` }] }),
          );
          return;
        }
        let tree;
        try {
          tree = parseSpl(head);
        } catch (error) {
          send(
            response,
            400,
            JSON.stringify({
              messages: [{ type: 'FATAL', text: `Error in 'search' command: ${(error as Error).message}` }],
            }),
          );
          return;
        }
        // Splunk's time range (docs.splunk.com, "Time modifiers"): earliest is inclusive and latest exclusive,
        // "up to, but not including" it, while _time keeps sub-seconds. Modifiers in the search text take
        // precedence over the earliest_time/latest_time parameters.
        const inText = (name: string): string | undefined =>
          new RegExp(`(?:^|\\s)${name}=(\\d+(?:\\.\\d+)?)(?=\\s|$)`).exec(search)?.[1];
        const earliest = Number(inText('earliest') ?? form.get('earliest_time')) * 1000;
        const latest = Number(inText('latest') ?? form.get('latest_time')) * 1000;
        const matched = events
          .filter((e) => e.time.getTime() >= earliest && e.time.getTime() < latest)
          .filter((e) =>
            evaluateSpl(tree, {
              time: e.time,
              raw: e.raw,
              fields: {
                ...e.fields,
                host: e.host,
                source: e.source,
                sourcetype: e.sourcetype,
                index: e.index,
              },
            }),
          );
        const by = stats[0];
        const counts = new Map<string, number>();
        if (by !== undefined)
          for (const e of matched) {
            const value = by === 'source' ? e.source : String(e.fields[by] ?? '');
            counts.set(value, (counts.get(value) ?? 0) + 1);
          }
        const counted =
          by === undefined ? null : [...counts].map(([value, n]) => ({ [by]: value, count: String(n) }));
        const rows = (counted ?? [])
          .map((result, offset) => JSON.stringify({ preview: false, offset, result }))
          .concat(
            counted !== null
              ? []
              : matched.map((e, offset) =>
                  JSON.stringify({
                    preview: false,
                    offset,
                    result: {
                      ...e.fields,
                      _raw: e.raw,
                      _time: e.time.toISOString().replace('Z', '+00:00'),
                      _indextime: String(Math.floor(e.indexTime.getTime() / 1000)),
                      _cd: e.cd,
                      host: e.host,
                      index: e.index,
                      source: e.source,
                      sourcetype: e.sourcetype,
                    },
                  }),
                ),
          );
        // A transforming search may stream a preview first; the connector must ignore it.
        const body = [JSON.stringify({ preview: true, offset: 0, result: { _raw: 'preview' } }), ...rows];
        if (partial !== null && 'warn' in partial)
          body.push(JSON.stringify({ preview: false, messages: [{ type: 'WARN', text: partial.warn }] }));
        if (partial === null || !('truncated' in partial))
          body.push(JSON.stringify({ preview: false, lastrow: true }));
        send(response, 200, `${body.join('\n')}\n`);
        return;
      }
      send(response, 404, '{"messages":[{"type":"ERROR","text":"Not Found"}]}');
    })();
  });
  const { url, close } = await listenLoopback(server);
  return {
    url,
    searches,
    dispatched,
    notables: () => events.filter((e) => e.index === 'notable').map((e) => e.fields),
    add,
    fail(fault, times = 1) {
      for (let i = 0; i < times; i += 1) faults.push(fault);
    },
    close,
  };
}

/** The search split at its top-level pipes (a `|` inside quotes is text). */
function splitPipes(search: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < search.length; i += 1) {
    const c = search[i] ?? '';
    if (c === '\\' && quoted) {
      current += c + (search[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === '|' && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}
