import type { SiemCapabilities, SiemConnectorDefinition } from '../core/index.js';
import { siemConnectors } from './registry.js';

/** Where the table sits in docs/connectors/README.md; everything between the marks is generated. */
export const tableMarks = {
  begin: '<!-- connector table: generated from src/siem/registry.ts by `npm run schema`; do not edit -->',
  end: '<!-- end of connector table -->',
} as const;

/** 30_000 -> "30 s", 180_000 -> "3 min", 100 -> "0.1 s". */
function duration(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${String(ms / 60_000)} min` : `${String(ms / 1000)} s`;
}

/** What a connector does beyond searching telemetry and alerts, from its declared capabilities. */
function beyondSearching(capabilities: SiemCapabilities): string {
  const can = [
    capabilities.triggerRule ? 'runs rules on demand' : null,
    capabilities.closeAlerts ? 'closes the alerts a test raised' : null,
    capabilities.hostAlerts ? "lists the alerts on the harness's own steps (collateral)" : null,
    capabilities.push ? 'tells the poll when events arrive (push)' : null,
    capabilities.batch ? 'answers a whole poll round in one query (batch)' : null,
    capabilities.alertEventLinks ? null : 'ties alerts to events by the values they repeat',
  ].filter((v) => v !== null);
  return can.length === 0 ? 'searches only' : can.join('; ');
}

function row(definition: SiemConnectorDefinition, isDefault: boolean): string {
  const { polling, docs } = definition;
  const { schedule } = polling;
  const guide = docs.guide.startsWith('docs/connectors/')
    ? docs.guide.slice('docs/connectors/'.length)
    : `../../${docs.guide}`;
  return [
    `\`${definition.id}\`${isDefault ? ' (default)' : ''}`,
    docs.summary,
    `[${definition.displayName}](${guide})`,
    `${duration(polling.captureTimeoutMs)} / ${duration(polling.detectTimeoutMs)}`,
    `${duration(schedule.initialDelayMs)}, ${String(schedule.intervalMs / 1000)} -> ${duration(schedule.maxIntervalMs)}`,
    polling.maxQueriesPerSecond === null ? 'none' : `${String(polling.maxQueriesPerSecond)} per s`,
    beyondSearching(definition.capabilities),
  ].join(' | ');
}

/** The connector table of docs/connectors/README.md, one row per registered connector, the default first. */
export function connectorTable(): string {
  const definitions: SiemConnectorDefinition[] = Object.values(siemConnectors);
  return [
    '| `siem.type` | SIEM | Guide | Capture / detect deadline (default) | First look, backoff | Query cap | Beyond searching |',
    '|---|---|---|---|---|---|---|',
    ...definitions.map((definition, i) => `| ${row(definition, i === 0)} |`),
  ].join('\n');
}

/** The README with its table replaced by the current one. */
export function withConnectorTable(readme: string): string {
  const begin = readme.indexOf(tableMarks.begin);
  const end = readme.indexOf(tableMarks.end);
  if (begin < 0 || end < begin) throw new Error('docs/connectors/README.md has lost its table marks');
  return `${readme.slice(0, begin + tableMarks.begin.length)}\n\n${connectorTable()}\n\n${readme.slice(end)}`;
}
