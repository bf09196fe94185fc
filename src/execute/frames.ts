import { z } from 'zod';
import { hostFactFields, sensorFactFields } from '../core/index.js';

/** What the remote operations print. Loose: a newer helper may add fields. */
export const FailedFrame = z.looseObject({ ok: z.literal(false), error: z.string() });

export const PreflightFrame = z.looseObject({
  ok: z.literal(true),
  ...hostFactFields,
  cmstpPresent: z.boolean(),
  sensors: z.looseObject({ ...sensorFactFields, utcNow: z.string() }).optional(),
});

export const SnapshotFrame = z.looseObject({ ok: z.literal(true), items: z.array(z.string()) });

export const RunFrame = z.looseObject({
  ok: z.literal(true),
  pid: z.number().int(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  startUtc: z.string(),
  endUtc: z.string(),
  payloadSha256: z.string(),
  markerFound: z.boolean(),
  markerProcesses: z
    .array(z.looseObject({ pid: z.number().int(), parentPid: z.number().int(), name: z.string() }))
    .default([]),
  /** emulation.followUp's call, made by the run operation after cmstp; null when none was made. */
  followUp: z
    .looseObject({
      startUtc: z.string(),
      result: z.number(),
      markerFound: z.boolean(),
      error: z.string().optional(),
    })
    .nullable()
    .default(null),
});

export const SecureFolderFrame = z.looseObject({
  ok: z.literal(true),
  workingFolder: z.looseObject({ path: z.string(), sddl: z.string(), changed: z.boolean() }),
});

export const CanaryFrame = z.looseObject({ ok: z.literal(true), writtenUtc: z.string() });

export const LockFrame = z.looseObject({
  ok: z.literal(true),
  acquired: z.boolean(),
  holder: z.looseObject({ marker: z.string(), acquiredUtc: z.string(), expiresUtc: z.string() }).nullable(),
});

export const UnlockFrame = z.looseObject({ ok: z.literal(true), released: z.boolean() });

export const UninstallFrame = z.looseObject({
  ok: z.literal(true),
  /** The target's clock as clean-up began: later events are clean-up's own, never the run's evidence. */
  startUtc: z.string(),
  uninstall: z
    .looseObject({ inf: z.string(), exitCode: z.number().nullable(), timedOut: z.boolean() })
    .nullable(),
});

export const CleanupFrame = z.looseObject({
  ok: z.boolean(),
  startUtc: z.string().optional(),
  removed: z.array(z.string()),
  errors: z.array(z.string()),
});

/** `lab smoke`'s probe: how scripts run on the host. */
export const ProbeFrame = z.looseObject({
  ok: z.literal(true),
  languageMode: z.string(),
  psVersion: z.string(),
  psEdition: z.string(),
  scriptPath: z.string(),
  utcNow: z.string(),
});

/** `lab smoke`'s event export: each log's wevtutil output, gzip'd and base64'd. */
export const ExportEventsFrame = z.looseObject({
  ok: z.literal(true),
  logs: z.array(
    z.looseObject({
      log: z.string(),
      exitCode: z.number().nullable(),
      error: z.string(),
      xmlGzipBase64: z.string(),
    }),
  ),
});

/** The same shape as a snapshot: one string per item. */
export const HostStateFrame = SnapshotFrame;
