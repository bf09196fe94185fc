import test from 'ava';
import { z } from 'zod';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { create as createReporter } from './reporter.js';
import { navigatorReporter } from './index.js';

testReporter('reporters/navigator', navigatorReporter);

/** The parts of the Navigator layer format 4.5 (LAYERFORMATv4_5.md) this layer uses, required where the spec says. */
const Layer = z.looseObject({
  name: z.string().min(1),
  versions: z.looseObject({ layer: z.literal('4.5'), navigator: z.string(), attack: z.string() }),
  domain: z.enum(['enterprise-attack', 'mobile-attack', 'ics-attack']),
  description: z.string(),
  sorting: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  techniques: z.array(
    z.looseObject({
      techniqueID: z.string().regex(/^T\d{4}(\.\d{3})?$/),
      tactic: z
        .string()
        .regex(/^[a-z-]+$/)
        .optional(),
      color: z
        .string()
        .regex(/^#[0-9a-f]{6}$/i)
        .optional(),
      score: z.number().min(0).max(100).optional(),
      comment: z.string().optional(),
      enabled: z.boolean().optional(),
      metadata: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
      showSubtechniques: z.boolean().optional(),
    }),
  ),
  gradient: z.looseObject({
    colors: z.array(z.string().regex(/^#[0-9a-f]{6}$/i)).min(2),
    minValue: z.number(),
    maxValue: z.number(),
  }),
  legendItems: z.array(z.strictObject({ label: z.string(), color: z.string().regex(/^#[0-9a-f]{6}$/i) })),
});

test('the layer follows the Navigator layer format 4.5 and colours T1218.003 by outcome', (t) => {
  const [artifact] = createReporter().render(sampleRun());

  t.is(artifact?.path, 'navigator-layer.json');
  const layer = Layer.parse(JSON.parse(artifact?.content ?? ''));
  t.regex(layer.name, /SIMULATED LAB/);
  const cmstp = layer.techniques.find((x) => x.techniqueID === 'T1218.003');
  // The sample run: one pass, one fail (telemetry seen), one inconclusive: partly detected, 1 of 3 passed.
  t.is(cmstp?.color, '#fdae61');
  t.is(cmstp?.score, 33);
  t.deepEqual(
    cmstp?.metadata?.map((m) => m.value),
    [
      'pass (alert; ATT&CK Evals: Technique)',
      'fail (none; ATT&CK Evals: None)',
      'inconclusive (none; ATT&CK Evals: not evaluated)',
    ],
  );
});

test('a run where nothing could be judged is grey and unscored; one where all passed is green at 100', (t) => {
  const run = sampleRun();
  const [result] = run.results;
  if (!result) throw new Error('sample run has no result');
  const withVerdicts = (verdict: 'pass' | 'inconclusive') => ({
    ...run,
    results: [{ ...result, signals: result.signals.map((s) => ({ ...s, verdict })) }],
  });

  const grey = Layer.parse(
    JSON.parse(createReporter().render(withVerdicts('inconclusive'))[0]?.content ?? ''),
  );
  const green = Layer.parse(JSON.parse(createReporter().render(withVerdicts('pass'))[0]?.content ?? ''));

  const cmstp = (layer: z.infer<typeof Layer>) => layer.techniques.find((x) => x.techniqueID === 'T1218.003');
  t.is(cmstp(grey)?.color, '#bdbdbd');
  t.is(cmstp(grey)?.score, undefined);
  t.is(cmstp(green)?.color, '#31a354');
  t.is(cmstp(green)?.score, 100);
});
