import { resolve } from 'node:path';
import type { PluginContext } from '../../core/index.js';
import { HarnessError } from '../../core/index.js';
import type { HarnessConfig } from '../../config/schema.js';
import { acceptedFormats, keptRejections, streamEvents } from '../../ingest/read.js';
import type { AlertCounts } from '../../siem/local/local-siem.js';
import { openLocalSiem } from '../../siem/local/index.js';
import { LocalSiemOptions } from '../../siem/local/schema.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

export interface IngestOptions {
  readonly files: readonly string[];
  readonly config: HarnessConfig;
  readonly rules: readonly string[];
  readonly json: boolean;
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
    const alerts: AlertCounts = new Map();
    const byChannel: Record<string, Record<string, number>> = {};
    const ingestedFrom = options.files.map((f) => resolve(f));
    const batch = streamEvents(options.files, (events) => {
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
    const summary = {
      files: options.files,
      database: siemOptions.database,
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
    // Nothing usable was read: the input is wrong, not quiet.
    const verdict = batch.accepted === 0 ? exitCodes.invalidInput : exitCodes.passed;
    const nothing = `no event was accepted from ${options.files.join(', ')}${batch.rejectedCount > 0 ? ` (${String(batch.rejectedCount)} rejected)` : ''}: ingest reads ${acceptedFormats}`;
    if (options.json) {
      output.out(JSON.stringify(summary, null, 2));
      if (verdict !== exitCodes.passed) output.err(nothing);
      return verdict;
    }
    output.out(
      `read ${summary.read} event(s) from ${options.files.length} file(s): ${summary.accepted} accepted, ${batch.rejectedCount} rejected`,
    );
    for (const [channel, counts] of Object.entries(byChannel)) {
      output.out(
        `  ${channel}: ${Object.entries(counts)
          .map(([id, n]) => `${id}×${n}`)
          .join(', ')}`,
      );
    }
    for (const rejected of batch.rejected.slice(0, 20))
      output.out(`  rejected ${rejected.source}: ${rejected.reason}`);
    if (batch.rejectedCount > 20)
      output.out(
        `  ... ${batch.rejectedCount - 20} more rejected (see --json, which lists the first ${String(keptRejections)})`,
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
    if (verdict !== exitCodes.passed) output.err(nothing);
    return verdict;
  } finally {
    siem.closeStore();
  }
}
