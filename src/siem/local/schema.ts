import { z } from 'zod';
import { Tuning, defaultTuning } from '../../core/index.js';

export const LocalSiemOptions = z
  .strictObject({
    database: z
      .string()
      .default('.purple-harness/local-siem.sqlite')
      .meta({ description: 'SQLite file for the event store, or ":memory:".' }),
    rules: z
      .array(z.string())
      .default([])
      .meta({ description: 'Extra folders of Sigma rules; detections/ is always loaded.' }),
    exclude: z.array(z.string().min(1)).default([]).meta({
      description:
        'Our rules (detections/) to leave out, by file name without .yml (ph-cmmgr32-app-paths-write) or by id: to see what a run shows without one, or because your own rule replaces it. A name that matches none of our rules is refused.',
    }),
    placeholders: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . and -')
          .regex(/^(?!ph_)/, "names starting ph_ are the tuning's (tuning: in the config)"),
        z.array(z.string()).min(1),
      )
      .default({})
      .meta({
        description:
          "Values for Sigma's expand modifier: a rule's %name% stands for each of placeholders.name's values (Sigma strings: * is a wildcard). A rule with a placeholder that has no values is refused. The tuning's values are there too, as %ph_...% (docs/tuning.md).",
      }),
    tuning: Tuning.default(defaultTuning).meta({
      description:
        "AN0932's mutable elements our rules read (docs/tuning.md); normally the config's `tuning:` file puts it here.",
    }),
    hec: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(0),
        tokenEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/)
          .default('PURPLE_HARNESS_HEC_TOKEN'),
      })
      .default({ host: '127.0.0.1', port: 0, tokenEnv: 'PURPLE_HARNESS_HEC_TOKEN' }),
  })
  .meta({ title: 'local SIEM options' });
export type LocalSiemOptions = z.infer<typeof LocalSiemOptions>;
