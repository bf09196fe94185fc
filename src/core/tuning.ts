import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { durationPattern, parseDuration } from './scenario-model.js';

/**
 * A team's tuning of AN0932's mutable elements (MITRE DET0328; research: cmstp-telemetry.md): which INF
 * paths are suspicious, where cmstp.exe may connect, which auto-elevating COM interfaces count, and which
 * profile registry entries are known good. Our rules read these values (detections/, through Sigma
 * placeholders named `ph_…`), so what a run proves is what this tuning lets through. The defaults are the
 * values our rules held before tuning existed. TimeWindow, the fifth, is the harness's own: how long after
 * cmstp starts its activity is tied to it, in every SIEM's queries (core/timing.ts activityWindow).
 */
export const Tuning = z
  .strictObject({
    schemaVersion: z.literal(1),
    infPathRegex: z.string().min(1).meta({
      description:
        'Where a staged INF file is suspicious: a regular expression over the file path (Sigma `re`: case-sensitive unless it starts with (?i)).',
    }),
    externalIpAllowlist: z.array(z.string().min(1)).meta({
      description:
        'Networks (CIDR, IPv4 or IPv6) cmstp.exe may connect to without an alert. Empty: any connection it makes alerts.',
    }),
    comInterfaceGuids: z
      .array(
        z
          .string()
          .regex(
            /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/,
            'a COM class id in braces: {3E5FC7F9-9A51-4367-9063-A120244FBEC7}',
          ),
      )
      .min(1)
      .meta({
        description:
          'The auto-elevating COM classes whose DllHost.exe surrogate (/Processid:{...}) counts as the Connection Manager elevation: CMSTPLUA, CMLUAUTIL, ...',
      }),
    registryKeyAllowlist: z
      .array(
        z
          .string()
          .regex(
            /^(?:HKLM|HKU|HKCR|HKCU|\*)/,
            'a registry path as Sysmon writes it (HKLM\\..., HKU\\<SID>\\...), or starting with *',
          ),
      )
      .meta({
        description:
          'Profile registry writes known to be good, as Sysmon names the key (TargetObject; * is a wildcard). Empty: every App Paths\\cmmgr32.exe write alerts.',
      }),
    timeWindow: z
      .string()
      .regex(durationPattern, 'a duration such as "500ms", "30s" or "2m"')
      .refine((text) => parseDuration(text) <= 10 * 60_000, 'at most 10m')
      .optional()
      .meta({
        description:
          "TimeWindow: how long after cmstp starts its network and child activity is still tied to it (a duration: 5s, 2m). The harness leaves the host alone that long before cleaning up, and every SIEM's queries for activity with no marker span it. Absent: cmstp's own run and 1 s after it.",
      }),
  })
  .meta({
    title: 'purple-harness tuning',
    description: "The values of AN0932's mutable elements in your environment (docs/tuning.md).",
  });
export type Tuning = z.infer<typeof Tuning>;

/** The values our rules held before they read a tuning: what a run uses when none is given. */
export const defaultTuning: Tuning = {
  schemaVersion: 1,
  infPathRegex: '(?i)\\\\(ProgramData|Users|Temp)\\\\.*\\.inf$',
  externalIpAllowlist: [],
  comInterfaceGuids: [
    // CMSTPLUA and CMLUAUTIL (cmstp-telemetry.md).
    '{3E5FC7F9-9A51-4367-9063-A120244FBEC7}',
    '{3E000D72-A845-4CD9-BD83-80C07C3B881F}',
  ],
  registryKeyAllowlist: [],
};

/**
 * A registry path with `*` wildcards as a Sigma string: in Sigma a backslash before `*`, `?` or another
 * backslash escapes it, so `...\CMMGR32.EXE\*` as written would end in a literal star. Every backslash is
 * doubled (a literal one) and `?` escaped, leaving `*` the only wildcard, as the tuning file says.
 */
const sigmaWildcard = (path: string): string => path.replace(/\\/g, '\\\\').replace(/\?/g, '\\?');

/** The tuning as the values of the `expand` placeholders our rules name (`%ph_com_interface_guids%`, ...). */
export function placeholdersOf(tuning: Tuning): Record<string, readonly string[]> {
  return {
    ph_inf_path_regex: [tuning.infPathRegex],
    ph_external_ip_allowlist: tuning.externalIpAllowlist,
    ph_com_interface_guids: tuning.comInterfaceGuids,
    ph_registry_key_allowlist: tuning.registryKeyAllowlist.map(sigmaWildcard),
  };
}

/**
 * How reports name a tuning: `default`, or `custom, sha256 <12 hex>` of its values, so a verdict is filed
 * with the tuning it was reached under and two runs under different tunings can be told apart.
 */
export function tuningLabel(tuning: Tuning): string {
  if (isDeepStrictEqual(tuning, defaultTuning)) return 'default';
  return `custom, sha256 ${createHash('sha256').update(JSON.stringify(tuning)).digest('hex').slice(0, 12)}`;
}

/** The tuning's TimeWindow in milliseconds; null when it sets none (cmstp's own run and the pad after it). */
export function timeWindowMs(tuning: Tuning): number | null {
  return tuning.timeWindow === undefined ? null : parseDuration(tuning.timeWindow);
}
