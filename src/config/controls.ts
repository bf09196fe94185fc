import { join } from 'node:path';
import { z } from 'zod';
import { SignalId, type ControlDefinition } from '../core/index.js';
import { packageRoot } from '../util/paths.js';
import { loadYamlFile } from './yaml-file.js';

/** The control-mapping file users write (controls/default.yaml is the default). Strict: a typo is an error. */
export const ControlMapping = z
  .strictObject({
    schemaVersion: z.literal(1),
    controls: z
      .array(
        z.strictObject({
          framework: z
            .string()
            .min(1)
            .meta({ description: 'NIST SP 800-53 Rev. 5, ISO/IEC 27001:2022, ...' }),
          id: z.string().min(1),
          title: z.string().min(1),
          basis: z.enum(['telemetry', 'detection']).meta({
            description:
              'telemetry: met when the expected events were recorded; detection: met when the signal passed, alerts included.',
          }),
          statement: z
            .string()
            .min(1)
            .meta({ description: 'What a met control shows, in the words of your audit.' }),
          signals: z.array(SignalId).min(1).optional(),
          scenarios: z.array(z.string().min(1)).min(1).optional(),
          coverage: z.enum(['any', 'each-signal']).optional().meta({
            description:
              'each-signal: met only when every signal in scope (all seven when `signals` is left out) was met in the run; any (default): the signals the run covered.',
          }),
        }),
      )
      .min(1),
  })
  .meta({ title: 'purple-harness control mapping', description: 'Which controls a run is evidence for.' });

export const defaultControlsFile = (): string => join(packageRoot(), 'controls', 'default.yaml');

/** Reads and validates a control-mapping file; every problem comes back as file:line:col (exit 2). */
export function loadControls(file: string = defaultControlsFile()): ControlDefinition[] {
  const { data } = loadYamlFile(file, ControlMapping, {
    what: 'control mapping',
    unreadableHint:
      'Point `controls:` in the config at an existing file, or leave it out for controls/default.yaml.',
    hint: 'Fix the control mapping; docs/controls.md describes it.',
  });
  return data.controls.map((c) => ({
    framework: c.framework,
    id: c.id,
    title: c.title,
    basis: c.basis,
    statement: c.statement,
    signals: c.signals ?? null,
    scenarios: c.scenarios ?? null,
    coverage: c.coverage ?? 'any',
  }));
}
