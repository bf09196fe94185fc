import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { ScenarioSpec, SourceIssue } from '../core/index.js';
import { findEscapedMustaches, readTemplate } from '../render/engine.js';
import { templatesDir } from '../util/paths.js';
import { locate, type ParsedYaml } from './positions.js';

/** Variables the harness itself provides to INF templates. */
const providedVariables = new Set(['marker', 'runDir', 'payloadCommand']);

function collectPaths(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectPaths(item, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (record.type === 'PathExpression' && typeof record.original === 'string') out.add(record.original);
  for (const [key, value] of Object.entries(record)) if (key !== 'loc') collectPaths(value, out);
}

export function templateVariables(template: string): Set<string> {
  const out = new Set<string>();
  collectPaths(Handlebars.parse(template), out);
  return out;
}

type Rule = (spec: ScenarioSpec, report: (path: readonly PropertyKey[], message: string) => void) => void;

const rules: readonly Rule[] = [
  function signalsAreUnique(spec, report) {
    const seen = new Set<string>();
    spec.expect.forEach((expectation, i) => {
      if (seen.has(expectation.signal))
        report(['expect', i, 'signal'], `signal "${expectation.signal}" is expected twice`);
      seen.add(expectation.signal);
    });
  },
  function ruleNeedsDetection(spec, report) {
    spec.expect.forEach((expectation, i) => {
      if (expectation.rule !== undefined && expectation.detected !== true) {
        report(['expect', i, 'rule'], 'naming a rule only makes sense with `detected: true`');
      }
    });
  },
  function installScopeIsSingle(spec, report) {
    const flags = spec.emulation.cmstp.flags;
    if (flags.includes('/au') && flags.includes('/su'))
      report(['emulation', 'cmstp', 'flags'], 'use either /au or /su, not both');
    if (new Set(flags).size !== flags.length) report(['emulation', 'cmstp', 'flags'], 'a flag is repeated');
  },
  function templateIsUsable(spec, report) {
    const where = ['emulation', 'inf', 'template'];
    const name = spec.emulation.inf.template;
    if (!existsSync(join(templatesDir(), name))) {
      report(where, `template ${name} does not exist under templates/`);
      return;
    }
    const text = readTemplate(name);
    for (const pos of findEscapedMustaches(text)) {
      report(
        where,
        `${name}:${pos.line}:${pos.col}: a single backslash before {{ disables the variable; write \\\\{{`,
      );
    }
    const used = templateVariables(text);
    for (const variable of used) {
      if (providedVariables.has(variable)) continue;
      const input = /^inputs\.([A-Za-z0-9]+)$/.exec(variable)?.[1];
      if (input === undefined)
        report(where, `${name} uses {{${variable}}}, which the harness does not provide`);
      else if (!(input in spec.inputs))
        report(['inputs'], `${name} uses {{inputs.${input}}}, but no input "${input}" is declared`);
    }
    for (const input of Object.keys(spec.inputs)) {
      if (!used.has(`inputs.${input}`))
        report(['inputs', input], `input "${input}" is declared but ${name} never uses it`);
    }
  },
];

/** Semantic rules after the schema passed; every problem is collected. */
export function checkRules(spec: ScenarioSpec, parsed: ParsedYaml): SourceIssue[] {
  const issues: SourceIssue[] = [];
  for (const rule of rules) {
    rule(spec, (path, message) => {
      issues.push({ file: parsed.file, ...locate(parsed, path), path: path.map(String).join('.'), message });
    });
  }
  return issues;
}
