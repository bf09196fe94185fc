import { z } from 'zod';
import {
  refuseIfInterrupted,
  SiemError,
  type IngestEndpoint,
  type PluginContext,
  type SiemAlert,
  type SiemConnector,
  type DetectionQuery,
  type SiemEvent,
  type SiemRequirement,
  type TelemetryQuery,
  type TimeWindow,
} from '../../core/index.js';
import { fromXml } from '../../ingest/normalize.js';
import { classify } from '../../signals/classify.js';
import {
  compileSplBatch,
  splEarliest,
  splHost,
  splLatest,
  splSources,
} from '../../signals/compile-backends.js';
import { splunkSecurity4688 } from '../../signals/field-map.js';
import { eventsNamedIn, SeenEvents } from '../../signals/link.js';
import { basicAuth, parseAs, secretFrom, siemHttp, type SiemHttp } from '../http.js';
import type { SplunkSiemOptions } from './schema.js';

const plugin = 'splunk';

const DispatchAnswer = z.looseObject({ sid: z.string() });
const FiredAlerts = z.looseObject({
  entry: z.array(
    z.looseObject({
      content: z.looseObject({
        sid: z.string().optional(),
        trigger_time: z.union([z.number(), z.string()]).optional(),
        severity: z.union([z.number(), z.string()]).optional(),
      }),
    }),
  ),
});
const JobResults = z.looseObject({
  results: z.array(z.record(z.string(), z.union([z.string(), z.array(z.string())]))).default([]),
});
const NotableUpdate = z.looseObject({ success: z.boolean(), message: z.string().default('') });

/** One row of the export stream (`output_mode=json`): NDJSON, `preview` rows first, `lastrow` at the end. */
const ExportRow = z.looseObject({
  preview: z.boolean().optional(),
  lastrow: z.boolean().optional(),
  result: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  messages: z.array(z.looseObject({ type: z.string(), text: z.string() })).optional(),
});
type Row = Readonly<Record<string, string | readonly string[]>>;

/** WARN messages Splunk sends when some search peers did not answer or a limit cut the results short. */
const incompleteWarning =
  /incomplete|partial|ended prematurely|unable to distribute|unreachable|down|timed? ?out|truncat|limit/i;

function one(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : (value[0] ?? '');
}

const fromSplunk4688 = Object.fromEntries(
  Object.entries(splunkSecurity4688).map(([ours, theirs]) => [theirs, ours]),
);
/** Splunk's time bounds as the search itself sets them (signals/compile-backends.ts): `latest` is exclusive. */
const epoch = (date: Date): string => String(splEarliest(date));
const epochAfter = (date: Date): string => String(splLatest(date));

/**
 * A Splunk result as our event: XmlWinEventLog `_raw` is parsed like `wevtutil` XML (Sysmon names as
 * written); classic renderings fall back to the search-time fields, with the Windows add-on's 4688 names
 * mapped back. The ref is `<index>:<_cd>`, Splunk's own address of the event.
 */
function toEvent(row: Row): SiemEvent | null {
  const raw = one(row._raw);
  let fields: Record<string, unknown> | null = null;
  let time = '';
  if (raw.trimStart().startsWith('<Event')) {
    const [outcome] = fromXml(raw);
    if (outcome !== undefined && 'event' in outcome) {
      fields = { ...outcome.event.fields };
      time = outcome.event.time;
    }
  }
  if (fields === null) {
    fields = {};
    for (const [name, value] of Object.entries(row)) {
      if (!name.startsWith('_')) fields[fromSplunk4688[name] ?? name] = one(value);
    }
    fields.EventID = Number(one(row.EventCode) || one(row.EventID));
    fields.Computer = one(row.Computer) || one(row.ComputerName) || one(row.host);
    time = new Date(one(row._time)).toISOString();
  }
  const eventId = Number(fields.EventID);
  if (!Number.isInteger(eventId) || time === '') return null;
  return {
    ref: `${one(row.index)}:${one(row._cd) || `${one(row._time)}#${one(row._serial)}`}`,
    time,
    indexedAt: one(row._indextime) === '' ? null : new Date(Number(one(row._indextime)) * 1000).toISOString(),
    host: typeof fields.Computer === 'string' ? fields.Computer : one(row.host),
    eventId,
    fields,
  };
}

class SplunkSiem implements SiemConnector {
  readonly id = plugin;
  readonly #options: SplunkSiemOptions;
  readonly #http: SiemHttp;
  readonly #hecToken: string | null;
  /** Events this connector has returned, so notables can be tied back to them by what they repeat. */
  readonly #seen = new SeenEvents();

  constructor(options: SplunkSiemOptions, http: SiemHttp, hecToken: string | null) {
    this.#options = options;
    this.#http = http;
    this.#hecToken = hecToken;
  }

  describe(): string {
    return `Splunk at ${new URL(this.#options.url).origin} (index=${this.#options.index}, app ${this.#options.app})${this.#options.tls.insecure ? ' [TLS verification OFF]' : ''}`;
  }

  /** One streaming export search; no job is left behind to poll or cancel (siem-apis.md 2.1). */
  async #export(search: string, { since, until }: TimeWindow, signal?: AbortSignal): Promise<Row[]> {
    const { owner, app } = this.#options;
    const response = await this.#http.send(
      'POST',
      `/servicesNS/${encodeURIComponent(owner)}/${encodeURIComponent(app)}/search/v2/jobs/export`,
      {
        form: { search, earliest_time: epoch(since), latest_time: epochAfter(until), output_mode: 'json' },
        accept: [204],
      },
      signal,
    );
    if (response.status === 204 || response.text.trim() === '') return [];
    const rows: Row[] = [];
    let lastRow = false;
    for (const line of response.text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed;
      try {
        parsed = ExportRow.safeParse(JSON.parse(line));
      } catch {
        throw new SiemError(
          'E_SIEM_QUERY',
          `[siem:${plugin}] the export stream is not JSON lines: ${line.slice(0, 200)}`,
          {
            retryable: true,
          },
        );
      }
      if (!parsed.success) continue;
      const fatal = parsed.data.messages?.find((m) => m.type === 'FATAL' || m.type === 'ERROR');
      if (fatal) throw new SiemError('E_SIEM_QUERY', `[siem:${plugin}] search failed: ${fatal.text}`);
      // A search head that could not reach every peer still answers, with a warning: partial, not "none".
      const partial = parsed.data.messages?.find((m) => m.type === 'WARN' && incompleteWarning.test(m.text));
      if (partial)
        throw new SiemError(
          'E_SIEM_UNAVAILABLE',
          `[siem:${plugin}] the results may be incomplete: ${partial.text}`,
          { retryable: true },
        );
      if (parsed.data.lastrow === true) lastRow = true;
      // Transforming searches may stream preview rows first; only final rows are results.
      if (parsed.data.preview !== true && parsed.data.result) rows.push(parsed.data.result);
    }
    // The export stream marks its last row (`lastrow`); rows without it were cut off on the way.
    if (rows.length > 0 && !lastRow)
      throw new SiemError(
        'E_SIEM_UNAVAILABLE',
        `[siem:${plugin}] the export stream ended before its last row: ${String(rows.length)} row(s) of a partial answer`,
        { retryable: true },
      );
    return rows;
  }

  queryText(query: TelemetryQuery): string {
    return compileSplBatch(query, this.#options.index, this.#options.securityRendering);
  }

  async findTelemetry(query: TelemetryQuery, signal?: AbortSignal) {
    const rows = await this.#export(this.queryText(query), query, signal);
    const events = rows.flatMap((row) => {
      const event = toEvent(row);
      return event === null ? [] : [event];
    });
    const found = classify(query, events);
    this.#seen.remember(found);
    return found;
  }

  /**
   * Enterprise Security notables in the window, on this host. Notables carry no event ids, so one counts for
   * an event only when it repeats a value that singles that event out (its ProcessGuid, command line, file).
   */
  async findDetections(
    query: Parameters<SiemConnector['findDetections']>[0],
    signal?: AbortSignal,
  ): Promise<readonly SiemAlert[]> {
    refuseIfInterrupted(signal, '[siem:splunk] alert search');
    const events = this.#seen.lookup(query.eventRefs);
    if (events.length === 0) return [];
    const rows = await this.#export(this.detectionText(query), query, signal);
    const fired = await this.#firedAlerts(query, events, signal);
    return [
      ...fired,
      ...rows.flatMap((row): SiemAlert[] => {
        const refs = eventsNamedIn(Object.values(row).flat().join('\n'), events, query.marker);
        if (refs.length === 0) return [];
        const name = one(row.search_name) || one(row.rule_name) || one(row.source);
        return [
          {
            // ES's own notable id (event_id) when there is one: notable_update needs it to close the notable.
            ref: one(row.event_id)
              ? `notable:${one(row.event_id)}`
              : `${one(row.index) || this.#options.notableIndex}:${one(row._cd)}`,
            ruleId: name,
            title: one(row.rule_title) || name,
            level: one(row.urgency) || one(row.severity) || 'unknown',
            host: one(row.dest) || query.host,
            time: one(row._time),
            eventRefs: refs,
          },
        ];
      }),
    ];
  }

  detectionText(query: DetectionQuery): string {
    return `search index=${this.#options.notableIndex} ${splHost(['dest', 'orig_host', 'host'], query.host)}`;
  }

  /**
   * Plain Splunk: the triggered alerts of the saved searches in `alertSearches`. An alert names only its
   * search job, so the job's results are read and the alert counts for the events they repeat.
   */
  async #firedAlerts(
    query: DetectionQuery,
    events: readonly SiemEvent[],
    signal?: AbortSignal,
  ): Promise<SiemAlert[]> {
    const alerts: SiemAlert[] = [];
    for (const name of this.#options.alertSearches) {
      const response = await this.#http.send(
        'GET',
        `/servicesNS/-/-/alerts/fired_alerts/${encodeURIComponent(name)}`,
        { query: { output_mode: 'json', count: '0' }, accept: [404] },
        signal,
      );
      // No alert has fired yet for this search: Splunk answers 404.
      if (response.status === 404) continue;
      for (const entry of parseAs(plugin, FiredAlerts, response, 'fired_alerts').entry) {
        const { sid, trigger_time: triggered, severity } = entry.content;
        const at = typeof triggered === 'number' ? triggered * 1000 : Date.parse(String(triggered));
        if (sid === undefined || !(at >= query.since.getTime() && at <= query.until.getTime())) continue;
        const results = await this.#http.send(
          'POST',
          `/services/search/v2/jobs/${encodeURIComponent(sid)}/results`,
          { form: { output_mode: 'json', count: '0' }, accept: [204, 404] },
          signal,
        );
        if (results.status !== 200) continue;
        const rows = parseAs(plugin, JobResults, results, 'job results').results;
        const refs = eventsNamedIn(
          rows.map((row) => Object.values(row).flat().join('\n')).join('\n'),
          events,
          query.marker,
        );
        if (refs.length === 0) continue;
        alerts.push({
          ref: `fired:${sid}`,
          ruleId: name,
          title: name,
          level: severity === undefined ? 'unknown' : String(severity),
          host: query.host,
          time: new Date(at).toISOString(),
          eventRefs: refs,
        });
      }
    }
    return alerts;
  }

  /**
   * Dispatches each configured saved search over the run's window with its alert actions on, as Splunk's
   * own contentctl does to test correlation searches (siem-apis.md 2.6); returns the search ids started.
   */
  async triggerRules(query: DetectionQuery, signal?: AbortSignal): Promise<readonly string[]> {
    const { owner, app, dispatch } = this.#options;
    const started: string[] = [];
    for (const name of dispatch) {
      const response = await this.#http.send(
        'POST',
        `/servicesNS/${encodeURIComponent(owner)}/${encodeURIComponent(app)}/saved/searches/${encodeURIComponent(name)}/dispatch`,
        {
          form: {
            trigger_actions: '1',
            'dispatch.earliest_time': epoch(query.since),
            'dispatch.latest_time': epochAfter(query.until),
            output_mode: 'json',
          },
        },
        signal,
      );
      const sid = parseAs(plugin, DispatchAnswer, response, 'dispatch').sid;
      started.push(`dispatched "${name}" (sid ${sid})`);
    }
    return started;
  }

  /** Closes the ES notables this test raised (status 5) with a comment naming the run. */
  async closeAlerts(
    alerts: readonly { readonly ref: string }[],
    note: string,
    signal?: AbortSignal,
  ): Promise<readonly string[] | null> {
    if (!this.#options.closeAlerts) return null;
    const ids = alerts.filter((a) => a.ref.startsWith('notable:')).map((a) => a.ref.slice('notable:'.length));
    if (ids.length === 0) return [];
    const form = new URLSearchParams({ status: '5', comment: note, output_mode: 'json' });
    for (const id of ids) form.append('ruleUIDs', id);
    const response = await this.#http.send(
      'POST',
      '/services/notable_update',
      { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      signal,
    );
    const answer = parseAs(plugin, NotableUpdate, response, 'notable_update');
    if (!answer.success)
      throw new SiemError('E_SIEM_QUERY', `[siem:${plugin}] notable_update failed: ${answer.message}`);
    return ids.map((id) => `notable:${id}`);
  }

  /**
   * Which renderings the index really holds, over the last 24 hours: Sysmon must be XML (the Sysmon add-on's
   * XmlWinEventLog, whose field names the queries use), and Security 4688 must come the way
   * `securityRendering` says (XmlWinEventLog:Security with the event's names, or classic WinEventLog:Security
   * with the Windows add-on's).
   */
  async checkRequirements(signal?: AbortSignal): Promise<readonly SiemRequirement[]> {
    const until = new Date();
    const since = new Date(until.getTime() - 24 * 3_600_000);
    const sourceIs = (name: keyof typeof splSources): string => `source="${splSources[name]}"`;
    // Security events are counted only as 4688s, the one event id the queries search there.
    const search = `search index=${this.#options.index} earliest=${epoch(since)} latest=${epochAfter(until)} (${sourceIs('sysmonXml')} OR ${sourceIs('sysmonClassic')} OR ((${sourceIs('securityXml')} OR ${sourceIs('securityClassic')}) EventCode=4688)) | stats count by source`;
    const rows = await this.#export(search, { since, until }, signal);
    const count = (source: string): number =>
      rows
        .filter((row) => one(row.source).toLowerCase() === source.toLowerCase())
        .reduce((sum, row) => sum + Number(one(row.count) || 0), 0);
    const where = `index=${this.#options.index}, last 24 h`;
    const sysmonXml = count(splSources.sysmonXml);
    const sysmonClassic = count(splSources.sysmonClassic);
    const xml = count(splSources.securityXml);
    const classic = count(splSources.securityClassic);
    const rendering = this.#options.securityRendering;
    const securityOk =
      rendering === 'both' || (rendering === 'xml' ? classic === 0 || xml > 0 : xml === 0 || classic > 0);
    return [
      {
        name: 'Sysmon source',
        ok: sysmonXml > 0,
        detail:
          sysmonXml > 0
            ? `${String(sysmonXml)} events from ${splSources.sysmonXml} (${where})`
            : sysmonClassic > 0
              ? `Sysmon arrives classic (${splSources.sysmonClassic}), whose field names the queries do not use (${where})`
              : `no Sysmon events (${where})`,
        fix:
          sysmonXml > 0
            ? null
            : sysmonClassic > 0
              ? "Set renderXml = true on the forwarder's WinEventLog://Microsoft-Windows-Sysmon/Operational input, as the Splunk Add-on for Sysmon expects."
              : 'Check `index` in the SIEM config and that the lab hosts forward the Sysmon channel (Splunk Add-on for Sysmon).',
      },
      {
        name: 'Security rendering',
        ok: securityOk,
        detail: `Security 4688 events: ${String(xml)} XML (${splSources.securityXml}), ${String(classic)} classic (${splSources.securityClassic}); securityRendering is ${rendering} (${where})`,
        fix: securityOk
          ? null
          : `Set securityRendering: ${xml > 0 ? 'xml' : 'classic'} (or both) in the SIEM config: your forwarders send ${xml > 0 ? 'XML' : 'classic'} events.`,
      },
    ];
  }

  ingestEndpoint(): IngestEndpoint | null {
    const hec = this.#options.hec;
    return hec === undefined || this.#hecToken === null
      ? null
      : {
          protocol: 'splunk-hec',
          url: hec.url.replace(/\/$/, ''),
          token: this.#hecToken,
          index: hec.index,
          securityRendering: this.#options.securityRendering === 'classic' ? 'classic' : 'xml',
        };
  }

  dispose(): Promise<void> {
    return this.#http.close();
  }
}

function authorization(options: SplunkSiemOptions, ctx: PluginContext): string {
  const need = (name: string | undefined): string => secretFrom(plugin, ctx.env, name ?? '');
  return options.tokenEnv !== undefined
    ? `Bearer ${need(options.tokenEnv)}`
    : basicAuth(need(options.usernameEnv), need(options.passwordEnv));
}

/** The implementation `splunkSiem.load()` hands out. */
// eslint-disable-next-line @typescript-eslint/require-await -- async so a missing secret rejects, never throws
export async function create(options: SplunkSiemOptions, ctx: PluginContext): Promise<SiemConnector> {
  const header = authorization(options, ctx);
  const hecToken = options.hec === undefined ? null : secretFrom(plugin, ctx.env, options.hec.tokenEnv);
  const http = siemHttp({
    plugin,
    baseUrl: options.url,
    tls: options.tls,
    timeoutMs: options.timeoutMs,
    auth: () => Promise.resolve({ authorization: header }),
    secrets: new Set([...ctx.secrets, header, ...(hecToken === null ? [] : [hecToken])]),
  });
  return new SplunkSiem(options, http, hecToken);
}
