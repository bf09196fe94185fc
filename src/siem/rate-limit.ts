import type { RunContext, SiemConnector } from '../core/index.js';

/**
 * Caps how often a SIEM is asked, across every host of a run (siem-apis.md 1.4: Log Analytics allows
 * 200 queries per 30 s, Sumo Logic 4 per second, Splunk a few concurrent searches per role). Queries are
 * spaced at least 1/perSecond apart, in the order they were asked.
 */
export function rateLimited(
  connector: SiemConnector,
  perSecond: number,
  ctx: Pick<RunContext, 'clock' | 'sleep'>,
): SiemConnector {
  const gapMs = 1000 / perSecond;
  let nextAt = 0;
  const turn = async (signal?: AbortSignal): Promise<void> => {
    const now = ctx.clock.now().getTime();
    const at = Math.max(now, nextAt);
    nextAt = at + gapMs;
    if (at > now) await ctx.sleep(at - now, signal);
  };
  return {
    id: connector.id,
    ...(connector.alertsAtIngest === true ? { alertsAtIngest: true } : {}),
    describe: () => connector.describe(),
    queryText: (query) => connector.queryText(query),
    ...(connector.detectionText ? { detectionText: (query) => connector.detectionText?.(query) ?? '' } : {}),
    findTelemetry: async (query, signal) => {
      await turn(signal);
      return connector.findTelemetry(query, signal);
    },
    findDetections: async (query, signal) => {
      await turn(signal);
      return connector.findDetections(query, signal);
    },
    ingestEndpoint: () => connector.ingestEndpoint(),
    dispose: () => connector.dispose(),
    // The optional calls go through the same cap, and stay absent when the connector has none.
    ...(connector.triggerRules
      ? {
          triggerRules: async (query, signal) => {
            await turn(signal);
            return connector.triggerRules?.(query, signal) ?? [];
          },
        }
      : {}),
    ...(connector.findHostAlerts
      ? {
          findHostAlerts: async (query, signal) => {
            await turn(signal);
            return connector.findHostAlerts?.(query, signal) ?? [];
          },
        }
      : {}),
    ...(connector.findTelemetryBatch && connector.findDetectionsBatch && connector.batchLimits
      ? {
          batchLimits: connector.batchLimits,
          findTelemetryBatch: async (queries, signal) => {
            await turn(signal);
            return connector.findTelemetryBatch?.(queries, signal) ?? [];
          },
          findDetectionsBatch: async (queries, signal) => {
            await turn(signal);
            return connector.findDetectionsBatch?.(queries, signal) ?? [];
          },
        }
      : {}),
    ...(connector.onIngest
      ? { onIngest: (host, listener) => connector.onIngest?.(host, listener) ?? (() => undefined) }
      : {}),
    ...(connector.closeAlerts
      ? {
          closeAlerts: async (alerts, note, signal) => {
            await turn(signal);
            return connector.closeAlerts?.(alerts, note, signal) ?? null;
          },
        }
      : {}),
  };
}
