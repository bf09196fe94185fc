import { XMLParser } from 'fast-xml-parser';
import { isSecurityEventId } from '../core/index.js';
import { fieldMap } from '../signals/field-map.js';

/** Our event model: flat Sysmon/EventData field names plus EventID, Channel, Computer and a time. */
export interface FlatEvent {
  readonly time: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Rejected {
  readonly source: string;
  readonly reason: string;
}

export type Outcome = { readonly event: FlatEvent } | { readonly rejected: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A time as an event carries it. Windows writes SystemTime in UTC, and exports drop the zone (`wevtutil`
 * and python-evtx give `2026-11-23T12:00:00.1234567` or a space for the T); JavaScript would read those as
 * the local time of whatever machine runs ingest, so a date-time without a zone is taken as UTC.
 */
export function isoTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const zoneless = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value.trim());
  const parsed = new Date(zoneless ? `${value.trim().replace(' ', 'T')}Z` : value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

/** Common checks and defaults once a record is flat: EventID a number, Channel and Computer present, a time. */
function finish(fields: Record<string, unknown>): Outcome {
  const eventId = Number(fields.EventID);
  if (!Number.isInteger(eventId) || eventId <= 0) return { rejected: 'no numeric EventID' };
  if (typeof fields.Channel !== 'string' || fields.Channel === '') return { rejected: 'no Channel' };
  fields.EventID = eventId;
  fields.Computer ??= fields.Hostname ?? fields.host ?? 'unknown';
  const time = isoTime(fields.UtcTime) ?? isoTime(fields['@timestamp']) ?? isoTime(fields.TimeCreated);
  if (time === undefined) return { rejected: 'no event time (UtcTime, @timestamp or TimeCreated)' };
  return { event: { time, fields } };
}

/** NXLog/Winlogbeat-style flat JSON: Sysmon/Security field names at the top level (the OTRF datasets). */
export function fromFlatJson(record: Record<string, unknown>): Outcome {
  return finish({ ...record });
}

function getPath(record: Record<string, unknown>, path: string): unknown {
  let node: unknown = record;
  for (const part of path.split('.')) {
    if (!isRecord(node)) return undefined;
    // ECS documents may use dotted keys or nested objects; accept both.
    if (path in node && node === record) return node[path];
    node = node[part];
  }
  return node;
}

/** ECS JSON (Winlogbeat/Elastic Agent): winlog.event_data first, then ECS fields mapped back to Sysmon names. */
export function fromEcs(record: Record<string, unknown>): Outcome {
  const winlog = isRecord(record.winlog) ? record.winlog : {};
  const fields: Record<string, unknown> = isRecord(winlog.event_data) ? { ...winlog.event_data } : {};
  const code = getPath(record, 'event.code') ?? winlog.event_id;
  fields.EventID = typeof code === 'string' ? Number(code) : code;
  fields.Channel = winlog.channel ?? getPath(record, 'event.provider');
  fields.Computer = winlog.computer_name ?? getPath(record, 'host.name');
  fields['@timestamp'] = record['@timestamp'];
  const eventId = Number(fields.EventID);
  // A Security event's own names are filled too, for a pipeline that keeps only the ECS copy of them.
  const security = isSecurityEventId(eventId);
  for (const mapping of fieldMap) {
    if (mapping.eventIds !== undefined && !mapping.eventIds.includes(eventId)) continue;
    const name = security ? (mapping.security4688 ?? mapping.sysmon) : mapping.sysmon;
    if (fields[name] !== undefined) continue;
    const value = getPath(record, mapping.ecs);
    if (value === undefined || isRecord(value)) continue;
    fields[name] = Array.isArray(value) ? value.join(' ') : value;
  }
  if (fields.Initiated === 'egress') fields.Initiated = 'true';
  return finish(fields);
}

export function isEcs(record: Record<string, unknown>): boolean {
  return (
    isRecord(record.winlog) || isRecord(record.event) || 'event.code' in record || isRecord(record.process)
  );
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  parseTagValue: false,
  // A value keeps its own leading and trailing white space (AccessList ends in a line break).
  trimValues: false,
  // Character references (&#174; as python-evtx writes every non-ASCII character) are decoded only with
  // this on; it also knows HTML's named entities, which no Windows export writes.
  htmlEntities: true,
  isArray: (name) => name === 'Event' || name === 'Data',
});

function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (isRecord(node) && typeof node['#text'] === 'string') return node['#text'];
  return undefined;
}

/** Windows event XML, as `wevtutil qe /f:xml` and Splunk's XmlWinEventLog write it: one or many <Event>. */
export function fromXml(document: string): Outcome[] {
  // wevtutil prints <Event> elements back to back with no root; wrap them so the parser sees one document.
  const parsed: unknown = xml.parse(`<Root>${document.replace(/<\?xml[^>]*\?>/g, '')}</Root>`);
  const root = isRecord(parsed) && isRecord(parsed.Root) ? parsed.Root : {};
  const holder = isRecord(root.Events) ? root.Events : root;
  const events = Array.isArray(holder.Event) ? holder.Event : [];
  return events.map((event: unknown): Outcome => {
    if (!isRecord(event) || !isRecord(event.System)) return { rejected: 'an <Event> without <System>' };
    const system = event.System;
    const fields: Record<string, unknown> = {
      EventID: text(system.EventID),
      Channel: text(system.Channel),
      Computer: text(system.Computer),
      TimeCreated: isRecord(system.TimeCreated) ? system.TimeCreated['@SystemTime'] : undefined,
      Provider_Name: isRecord(system.Provider) ? system.Provider['@Name'] : undefined,
    };
    const data = isRecord(event.EventData) && Array.isArray(event.EventData.Data) ? event.EventData.Data : [];
    for (const item of data) {
      if (isRecord(item) && typeof item['@Name'] === 'string') fields[item['@Name']] = text(item) ?? '';
    }
    return finish(fields);
  });
}
