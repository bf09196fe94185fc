import { resolve } from 'node:path';
import type { PluginContext } from '../../core/index.js';
import { HarnessError } from '../../core/index.js';
import type { HarnessConfig } from '../../config/schema.js';
import { acceptedFormats, keptRejections, streamEvents } from '../../ingest/read.js';
import type { AlertCounts } from '../../siem/local/local-siem.js';
import { openLocalSiem } from '../../siem/local/connector.js';
import { LocalSiemOptions } from '../../siem/local/schema.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

export interface IngestOptions {
  readonly files: readonly string[];
  readonly config: HarnessConfig;
  readonly rules: readonly string[];
  readonly json: boolean;
}

type LocalSiem = ReturnType<typeof openLocalSiem>['siem'];
type RuleSet = ReturnType<typeof openLocalSiem>['rules'];

/** Streams the files into the local SIEM in batches, counting events by channel and id and alerts by rule. */
function replay(files: readonly string[], siem: LocalSiem) {
  const alerts: AlertCounts = new Map();
  const byChannel: Record<string, Record<string, number>> = {};
  const ingestedFrom = files.map((f) => resolve(f));
  const batch = streamEvents(files, (events) => {
    for (const event of events) {
      const counts = (byChannel[String(event.fields.Channel)] ??= {});
      const id = String(event.fields.EventID);
      counts[id] = (counts[id] ?? 0) + 1;
    }
    const raised = siem.store(
      events.map((event) => ({
        time: event.time,
        host: String(event.fields.Computer),
        sourcetype: 'purple-harness:ingest',
        meta: { ingestedFrom },
        fields: event.fields,
      })),
    );
    for (const [ruleId, a] of raised) {
      const seen = alerts.get(ruleId);
      alerts.set(ruleId, { ...a, count: (seen?.count ?? 0) + a.count });
    }
  });
  return { batch, byChannel, alerts };
}

/** What `--json` prints: the input, what was accepted and rejected, the rules and the alerts they raised. */
function summaryOf(
  files: readonly string[],
  database: string,
  replayed: ReturnType<typeof replay>,
  rules: RuleSet,
) {
  const { batch, byChannel, alerts } = replayed;
  return {
    files,
    database,
    read: batch.accepted + batch.rejectedCount,
    accepted: batch.accepted,
    formats: batch.formats,
    byChannel,
    rejectedCount: batch.rejectedCount,
    // The first rejections with their reasons; past keptRejections they are only counted.
    rejected: batch.rejected,
    rules: {
      loaded: [
        ...rules.rules.map((r) => ({ id: r.id, title: r.title, level: r.level, file: r.file })),
        ...rules.correlations.map((c) => ({
          id: c.id,
          title: c.title,
          level: c.level,
          file: c.file,
          correlation: c.type,
        })),
      ],
      refused: rules.refused,
      folders: rules.folders,
    },
    alerts: [...alerts.entries()].map(([ruleId, a]) => ({
      ruleId,
      title: a.title,
      level: a.level,
      count: a.count,
    })),
  };
}

/** The summary as lines for people. */
function printSummary(summary: ReturnType<typeof summaryOf>, rules: RuleSet, output: Output): void {
  output.out(
    `read ${summary.read} event(s) from ${summary.files.length} file(s): ${summary.accepted} accepted, ${summary.rejectedCount} rejected`,
  );
  for (const [channel, counts] of Object.entries(summary.byChannel)) {
    output.out(
      `  ${channel}: ${Object.entries(counts)
        .map(([id, n]) => `${id}×${n}`)
        .join(', ')}`,
    );
  }
  for (const rejected of summary.rejected.slice(0, 20))
    output.out(`  rejected ${rejected.source}: ${rejected.reason}`);
  if (summary.rejectedCount > 20)
    output.out(
      `  ... ${summary.rejectedCount - 20} more rejected (see --json, which lists the first ${String(keptRejections)})`,
    );
  output.out(
    `rules: ${String(rules.rules.length + rules.correlations.length)} loaded, ${String(rules.refused.length)} refused`,
  );
  for (const folder of rules.folders)
    output.out(`  ${folder.dir}: ${folder.loaded} loaded, ${folder.refused} refused`);
  for (const refused of rules.refused) output.out(`  refused ${refused.file}: ${refused.reason}`);
  output.out(`alerts: ${summary.alerts.reduce((n, a) => n + a.count, 0)}`);
  for (const alert of summary.alerts)
    output.out(`  ${alert.level.padEnd(8)} ${alert.title} [${alert.ruleId}]: ${alert.count}`);
}

/**
 * Replays recorded telemetry into the local SIEM: flat JSON lines (the OTRF style), Windows event XML or
 * ECS JSON, zipped or not. The rules are evaluated on every event as it is stored, as in a live run; events
 * are read and stored in batches, so memory stays flat with the input's size.
 */
export function ingestCommand(options: IngestOptions, output: Output, ctx: PluginContext): ExitCode {
  if (options.files.length === 0) {
    throw new HarnessError('E_USAGE', 'ingest needs at least one file', {
      hint: 'purple-harness ingest recording.zip [--json]',
    });
  }
  const { type: _type, ...siemConfig } = options.config.siem ?? { type: 'local' };
  const siemOptions = LocalSiemOptions.parse(siemConfig);
  const { siem, rules } = openLocalSiem(
    { ...siemOptions, rules: [...siemOptions.rules, ...options.rules] },
    ctx,
  );
  try {
    const summary = summaryOf(options.files, siemOptions.database, replay(options.files, siem), rules);
    // Nothing usable was read: the input is wrong, not quiet.
    const verdict = summary.accepted === 0 ? exitCodes.invalidInput : exitCodes.passed;
    if (options.json) output.out(JSON.stringify(summary, null, 2));
    else printSummary(summary, rules, output);
    if (verdict !== exitCodes.passed)
      output.err(
        `no event was accepted from ${options.files.join(', ')}${summary.rejectedCount > 0 ? ` (${String(summary.rejectedCount)} rejected)` : ''}: ingest reads ${acceptedFormats}`,
      );
    return verdict;
  } finally {
    siem.closeStore();
  }
}
