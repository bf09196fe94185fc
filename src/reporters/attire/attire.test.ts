import test from 'ava';
import { z } from 'zod';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { create as createReporter } from './reporter.js';
import { attireReporter } from './index.js';

testReporter('reporters/attire', attireReporter);

/** The ATTiRe field layout (attire-version, execution-data, procedures[].steps[].output[]), all fields present. */
const Output = z.strictObject({ content: z.string(), level: z.string(), type: z.string() });
const Attire = z.strictObject({
  'attire-version': z.string(),
  'execution-data': z.strictObject({
    'execution-command': z.string(),
    'execution-id': z.string(),
    'execution-source': z.string(),
    'execution-category': z.strictObject({ name: z.string(), abbreviation: z.string() }),
    target: z.strictObject({ host: z.string(), ip: z.string(), path: z.string(), user: z.string() }),
    'time-generated': z.iso.datetime(),
  }),
  procedures: z.array(
    z.strictObject({
      'procedure-name': z.string(),
      'procedure-description': z.string(),
      'procedure-id': z.strictObject({ type: z.literal('guid'), id: z.uuid() }),
      'mitre-technique-id': z.string().regex(/^T\d{4}(\.\d{3})?$/),
      order: z.number().int().positive(),
      steps: z.array(
        z.strictObject({
          command: z.string(),
          executor: z.string(),
          order: z.number().int().positive(),
          'time-start': z.string(),
          'time-stop': z.string(),
          output: z.array(Output),
        }),
      ),
    }),
  ),
});

test('one ATTiRe log per host in the published field layout, with the detection outcome per signal', (t) => {
  const artifacts = createReporter().render(sampleRun());

  t.deepEqual(
    artifacts.map((a) => a.path),
    ['attire/WIN10-LAB-01.json'],
  );
  const log = Attire.parse(JSON.parse(artifacts[0]?.content ?? ''));
  t.regex(log['execution-data']['execution-source'], /SIMULATED LAB/);
  const [procedure] = log.procedures;
  t.is(procedure?.['mitre-technique-id'], 'T1218.003');
  const outcome = procedure?.steps.at(-1)?.output.map((o) => o.content.split(':').slice(0, 2).join(':'));
  t.deepEqual(outcome, [
    'cmstp-exec: pass; VECTR Alerted; ATT&CK Evals Technique',
    'child-process: fail; VECTR None; ATT&CK Evals None',
    'payload-file: inconclusive; VECTR TBD; ATT&CK Evals not evaluated',
  ]);
});

test('the procedure id is stable across runs of the same scenario on the same host', (t) => {
  const id = (runId: string) =>
    Attire.parse(JSON.parse(createReporter().render({ ...sampleRun(), runId })[0]?.content ?? ''))
      .procedures[0]?.['procedure-id'].id;
  t.is(id('20261123T120000Z-aaaaaa'), id('20261124T120000Z-bbbbbb'));
});
