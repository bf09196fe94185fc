import { fieldMap } from './field-map.js';

const sysmonChannel = 'Microsoft-Windows-Sysmon/Operational';

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next === 'object' && next !== null && !Array.isArray(next))
      node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts.at(-1) ?? path] = value;
}

/**
 * A flat Sysmon/Security event as Winlogbeat and Elastic Agent index it: every EventData field kept under
 * `winlog.event_data`, the ECS fields filled from the field map, `event.code` a string. The inverse of
 * ingest/normalize.ts fromEcs, so what the simulator ships to Elasticsearch reads back the same.
 */
export function toEcs(time: string, fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const eventId = Number(fields.EventID);
  const channel = typeof fields.Channel === 'string' ? fields.Channel : sysmonChannel;
  const eventData: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!['EventID', 'Channel', 'Computer'].includes(name)) eventData[name] = value;
  }
  const doc: Record<string, unknown> = {
    '@timestamp': time,
    event: {
      code: String(eventId),
      provider:
        channel === sysmonChannel ? 'Microsoft-Windows-Sysmon' : 'Microsoft-Windows-Security-Auditing',
      kind: 'event',
    },
    winlog: { channel, computer_name: fields.Computer, event_id: String(eventId), event_data: eventData },
    host: { name: typeof fields.Computer === 'string' ? fields.Computer.toLowerCase() : fields.Computer },
  };
  for (const mapping of fieldMap) {
    if (mapping.eventIds !== undefined && !mapping.eventIds.includes(eventId)) continue;
    if (mapping.ecs.startsWith('winlog.') || mapping.sysmon === 'Computer') continue;
    const name = channel === sysmonChannel ? mapping.sysmon : (mapping.security4688 ?? mapping.sysmon);
    const value = fields[name];
    if (value !== undefined && value !== '')
      setPath(doc, mapping.ecs, mapping.ecsType === 'long' ? asLong(value) : value);
  }
  return doc;
}

/**
 * Security events write process ids in hex (`0x114c`), which a `long` field refuses; the System
 * integration's security pipeline decodes them before indexing (elastic/integrations,
 * packages/system/data_stream/security/elasticsearch/ingest_pipeline), and so does the lab.
 */
function asLong(value: unknown): unknown {
  return typeof value === 'string' && /^0x[0-9a-f]+$/i.test(value) ? Number.parseInt(value, 16) : value;
}
