import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { HarnessConfig } from '../../config/schema.js';
import { defaultTuning, HarnessError } from '../../core/index.js';
import { embeddedUserSid } from '../../lab/identity.js';
import { planBoundaries, type BoundaryPlan, type ElementPlan } from '../../scenario/boundaries.js';
import { checkedScenarioText } from '../../scenario/scaffold.js';
import { payloadAddressesOf } from '../../setup/payload.js';
import { tuningFrom } from '../../setup/siem.js';
import { loadOurDetections } from '../../sigma/load.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

export interface TuningPlanOptions {
  readonly config: HarnessConfig;
  readonly out: string;
  readonly force: boolean;
  readonly json: boolean;
}

/** The plan as `boundaries.json` holds it: each case with what it expects, without the scenario it is in. */
function planRecord(plan: BoundaryPlan) {
  return {
    tuning: plan.tuning,
    elements: plan.elements.map((element: ElementPlan) => ({
      ...element,
      cases: element.cases.map(({ spec, ...rest }) => ({ ...rest, expect: spec.expect })),
    })),
  };
}

/**
 * `tuning plan`: writes the boundary scenarios for the config's tuning (or the default) and boundaries.json
 * beside them. Every file is checked before any is written, and none is overwritten without --force.
 */
export function tuningPlanCommand(options: TuningPlanOptions, output: Output): ExitCode {
  const siem = options.config.siem?.type ?? 'local';
  if (siem !== 'local')
    throw new HarnessError(
      'E_USAGE',
      `tuning plan: the boundary scenarios assert our rules (detections/), which only the local SIEM runs; the configured SIEM is ${siem}`,
      { hint: 'Run tuning plan with a config whose SIEM is local (or none: the embedded lab).' },
    );
  const tuning = tuningFrom(options.config) ?? defaultTuning;
  const plan = planBoundaries({
    tuning,
    rules: loadOurDetections(tuning).loaded,
    userSid: embeddedUserSid,
    payloadAddresses: payloadAddressesOf(options.config),
  });
  const dir = resolve(options.out);
  const files = plan.elements.flatMap((element) =>
    element.cases.map((c) =>
      checkedScenarioText(c.spec, dir, { hint: 'A generated boundary scenario is invalid: report it.' }),
    ),
  );
  const record = {
    file: join(dir, 'boundaries.json'),
    text: `${JSON.stringify(planRecord(plan), null, 2)}\n`,
  };
  const taken = [...files, record].filter((f) => existsSync(f.file)).map((f) => f.file);
  if (taken.length > 0 && !options.force)
    throw new HarnessError('E_USAGE', `tuning plan: ${taken.join(', ')} already exist(s)`, {
      hint: 'Pick another --out, or pass --force to replace the plan that is there.',
    });
  mkdirSync(dir, { recursive: true });
  for (const f of [...files, record]) writeFileSync(f.file, f.text);
  if (options.json) {
    output.out(JSON.stringify({ out: dir, ...planRecord(plan) }, null, 2));
    return exitCodes.passed;
  }
  printPlan(plan, options.out, output);
  return exitCodes.passed;
}

function printPlan(plan: BoundaryPlan, out: string, output: Output): void {
  const cases = plan.elements.flatMap((e) => e.cases);
  output.out(
    `tuning plan: tuning ${plan.tuning}, ${String(cases.length)} boundary scenarios in ${out} (boundaries.json says what each proves)`,
  );
  for (const element of plan.elements) {
    if (element.cases.length > 0) output.out(`${element.element}: ${element.summary}`);
    for (const c of element.cases)
      output.out(
        `  ${(c.side === 'flagged' ? 'flagged' : 'let through').padEnd(12)} ${c.scenario}: ${c.label}; ${c.expects}`,
      );
    if (element.notYet !== null)
      output.out(
        `NOT YET      ${element.element}: ${element.cases.length === 0 ? 'no boundary scenarios' : 'one side only'}; ${element.notYet}`,
      );
  }
  output.out(`next: purple-harness run ${out} (with the same --config), and again after the tuning changes`);
}
