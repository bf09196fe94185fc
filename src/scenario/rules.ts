import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { ScenarioSpec, SourceIssue } from '../core/index.js';
import { findEscapedMustaches, readTemplate } from '../render/engine.js';
import { templatesDir } from '../util/paths.js';
import { locate, type ParsedYaml } from './positions.js';

function collectPaths(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectPaths(item, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (record.type === 'PathExpression' && typeof record.original === 'string') out.add(record.original);
  // With parameters or a hash, a mustache's path names a helper ({{psq x}}, {{js x}}), not a variable.
  const helperCall = Array.isArray(record.params) && (record.params.length > 0 || record.hash !== undefined);
  for (const [key, value] of Object.entries(record)) {
    if (key === 'loc' || (helperCall && key === 'path')) continue;
    collectPaths(value, out);
  }
}

export function templateVariables(template: string): Set<string> {
  const out = new Set<string>();
  collectPaths(Handlebars.parse(template), out);
  return out;
}

export interface RuleOptions {
  /** The run passed --allow-custom-commands. */
  readonly allowCustomCommands?: boolean;
}

type Rule = (
  spec: ScenarioSpec,
  report: (path: readonly PropertyKey[], message: string) => void,
  options: RuleOptions,
) => void;

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
      if (expectation.rule !== undefined && expectation.detected === undefined) {
        report(
          ['expect', i, 'rule'],
          'naming a rule needs `detected`: true (the rule must fire) or false (it must not)',
        );
      }
    });
  },
  function launcherIsChosen(spec, report) {
    const { inf, cmstp, com, scriptlet } = spec.emulation;
    if (com === undefined) {
      if (inf === undefined)
        report(['emulation'], 'a cmstp emulation needs `inf` (or use `com` for ICMLuaUtil)');
      if (cmstp === undefined)
        report(['emulation'], 'a cmstp emulation needs `cmstp` flags (or use `com` for ICMLuaUtil)');
      return;
    }
    if (inf !== undefined || cmstp !== undefined || scriptlet !== undefined) {
      report(['emulation', 'com'], '`com` calls ICMLuaUtil directly: leave out inf, cmstp and scriptlet');
    }
    if (!spec.allowElevation) {
      report(
        ['emulation', 'com'],
        'COM elevation through ICMLuaUtil is opt-in: review the scenario, then set `allowElevation: true`',
      );
    }
    if (spec.emulation.payload.action === 'none')
      report(['emulation', 'payload', 'action'], '`com` needs a payload command to start');
    spec.expect.forEach((expectation, i) => {
      if (expectation.signal !== 'com-elevation' && expectation.signal !== 'child-process') {
        report(
          ['expect', i, 'signal'],
          `a direct ICMLuaUtil call produces only com-elevation and child-process, never ${expectation.signal}`,
        );
      }
    });
  },
  function followUpFits(spec, report) {
    const { followUp, cmstp } = spec.emulation;
    if (followUp === undefined) return;
    if (cmstp === undefined)
      report(['emulation', 'followUp'], '`followUp` comes after a cmstp run: give `inf` and `cmstp` too');
    if (!spec.allowElevation)
      report(
        ['emulation', 'followUp'],
        'the follow-up elevates through ICMLuaUtil, which is opt-in: review the scenario, then set `allowElevation: true`',
      );
    if (!['marker-file', 'marker-process'].includes(spec.emulation.payload.action))
      report(
        ['emulation', 'payload', 'action'],
        'the follow-up starts the payload command again: use the marker-file or marker-process action',
      );
  },
  function installScopeIsSingle(spec, report) {
    const flags = spec.emulation.cmstp?.flags ?? [];
    if (flags.includes('/au') && flags.includes('/su'))
      report(['emulation', 'cmstp', 'flags'], 'use either /au or /su, not both');
    if (new Set(flags).size !== flags.length) report(['emulation', 'cmstp', 'flags'], 'a flag is repeated');
  },
  function withoutSilentOnlyTheStart(spec, report) {
    const flags = spec.emulation.cmstp?.flags;
    if (flags === undefined || flags.includes('/s')) return;
    // Without /s cmstp waits for a confirmation dialog nobody can answer over SSH, and runs nothing.
    spec.expect.forEach((expectation, i) => {
      if (expectation.captured && !['cmstp-exec', 'payload-file'].includes(expectation.signal))
        report(
          ['expect', i, 'signal'],
          `without /s cmstp waits for its confirmation dialog and runs nothing, so ${expectation.signal} cannot be captured: expect only cmstp-exec and payload-file, or add /s`,
        );
    });
  },
  function byUrlOnlyTheStart(spec, report) {
    if (spec.emulation.inf?.via !== 'url') return;
    // The one public sample of `cmstp /ni /s <URL>` shows cmstp's start and nothing after it
    // (cmstp-telemetry.md 1.1): no fetch, no child, no install.
    spec.expect.forEach((expectation, i) => {
      if (expectation.captured && !['cmstp-exec', 'payload-file'].includes(expectation.signal))
        report(
          ['expect', i, 'signal'],
          `given an INF by URL, cmstp is not known to fetch or run it on current Windows (the one public sample shows only its start), so ${expectation.signal} cannot be expected captured: expect only cmstp-exec and payload-file, or use via: path`,
        );
    });
    if (spec.emulation.scriptlet !== undefined)
      report(
        ['emulation', 'inf', 'via'],
        'an INF by URL is never run, so its scriptlet would never be fetched: leave out scriptlet',
      );
  },
  function scriptletFromIsForUrls(spec, report) {
    const { scriptlet } = spec.emulation;
    if (scriptlet !== undefined && scriptlet.via !== 'url' && scriptlet.from !== 'name')
      report(
        ['emulation', 'scriptlet', 'from'],
        '`from` says how a scriptlet URL names the payload server: use it with via: url, or leave it out',
      );
  },
  function scriptletSignalsNeedAScriptlet(spec, report) {
    const { scriptlet, inf } = spec.emulation;
    if (inf === undefined || inf.via === 'url') return; // a COM call and an INF by URL have rules of their own
    // Only scrobj.dll fetching an SCT by URL makes cmstp resolve and connect; a staged one is read from disk
    // or over SMB (by the System process). Without a scriptlet nothing loads scrobj.dll at all.
    const cannot = (signal: string): string | null =>
      signal === 'remote-fetch' && scriptlet === undefined
        ? 'this emulation has no scriptlet, so cmstp fetches nothing and remote-fetch cannot be captured: add a scriptlet (e.g. --from cmstp-remote-scriptlet) or expect remote-fetch captured: false'
        : signal === 'remote-fetch' && scriptlet !== undefined && scriptlet.via !== 'url'
          ? `a scriptlet named by its ${scriptlet.via === 'unc' ? 'share path' : 'path'} is not fetched by cmstp, so remote-fetch cannot be captured: expect remote-fetch captured: false, or use scriptlet via: url`
          : signal === 'scriptlet-load' && scriptlet === undefined
            ? 'this emulation has no scriptlet, so scrobj.dll is never loaded and scriptlet-load cannot be captured: add a scriptlet (e.g. --from cmstp-remote-scriptlet) or expect scriptlet-load captured: false'
            : null;
    spec.expect.forEach((expectation, i) => {
      const problem = expectation.captured ? cannot(expectation.signal) : null;
      if (problem !== null) report(['expect', i, 'signal'], problem);
    });
  },
  function customCommandsAreOptIn(spec, report, options) {
    const { action, customCommand } = spec.emulation.payload;
    if (action === 'custom' && customCommand === undefined)
      report(['emulation', 'payload'], 'action "custom" needs a customCommand');
    if (action !== 'custom' && customCommand !== undefined)
      report(['emulation', 'payload', 'customCommand'], 'customCommand is only used with action "custom"');
    if (action === 'custom' && options.allowCustomCommands !== true) {
      report(
        ['emulation', 'payload', 'action'],
        'this scenario runs its own command instead of a benign catalogue action; review it, then pass --allow-custom-commands',
      );
    }
  },
  function payloadFitsTheStage(spec, report) {
    // The payload's marker path would hold a space under Program Files, and INF values may not quote it.
    if (spec.emulation.inf?.stage === 'program-files' && spec.emulation.payload.action !== 'none') {
      report(
        ['emulation', 'inf', 'stage'],
        'staging under Program Files is for payload-free installs (payload action "none")',
      );
    }
  },
  function noPayloadNoChild(spec, report) {
    if (spec.emulation.payload.action !== 'none') return;
    spec.expect.forEach((expectation, i) => {
      if (expectation.signal === 'child-process') {
        report(
          ['expect', i, 'signal'],
          'child-process can never be judged when the payload action is "none"',
        );
      }
    });
  },
  function templatesAreUsable(spec, report) {
    const infSpec = spec.emulation.inf;
    if (infSpec === undefined) {
      for (const input of Object.keys(spec.inputs))
        report(['inputs', input], `input "${input}" is declared but nothing uses it`);
      return;
    }
    const provided = new Set(['marker', 'runDir']);
    if (spec.emulation.payload.action !== 'none') provided.add('payloadCommand');
    const inf = checkTemplate(spec, ['emulation', 'inf', 'template'], infSpec.template, provided, report);
    if (spec.emulation.scriptlet) {
      const sct = checkTemplate(
        spec,
        ['emulation', 'scriptlet', 'template'],
        spec.emulation.scriptlet.template,
        provided,
        report,
      );
      if (sct && !sct.has('payloadCommand'))
        report(
          ['emulation', 'scriptlet', 'template'],
          'the scriptlet never uses {{payloadCommand}}, so it runs nothing',
        );
      if (inf && !inf.has('scriptletUrl'))
        report(
          ['emulation', 'inf', 'template'],
          `${infSpec.template} never uses {{scriptletUrl}}, so the scriptlet is never fetched`,
        );
    }
    if (inf) {
      for (const input of Object.keys(spec.inputs)) {
        if (!inf.has(`inputs.${input}`))
          report(['inputs', input], `input "${input}" is declared but ${infSpec.template} never uses it`);
      }
    }
  },
];

/**
 * A template must exist, must not hide a variable behind a backslash, and may use only what the harness
 * provides plus the declared inputs. Returns the variables it uses, or null when it cannot be read.
 */
function checkTemplate(
  spec: ScenarioSpec,
  where: readonly PropertyKey[],
  name: string,
  provided: ReadonlySet<string>,
  report: (path: readonly PropertyKey[], message: string) => void,
): Set<string> | null {
  if (!existsSync(join(templatesDir(), name))) {
    report(where, `template ${name} does not exist under templates/`);
    return null;
  }
  const text = readTemplate(name);
  for (const pos of findEscapedMustaches(text)) {
    report(
      where,
      `${name}:${pos.line}:${pos.col}: a single backslash before {{ disables the variable; write \\\\{{`,
    );
  }
  const used = templateVariables(text);
  const providedHere = new Set([
    ...provided,
    ...(spec.emulation.scriptlet && where[1] === 'inf' ? ['scriptletUrl'] : []),
  ]);
  for (const variable of used) {
    if (providedHere.has(variable)) continue;
    const input = /^inputs\.([A-Za-z0-9]+)$/.exec(variable)?.[1];
    if (input === undefined)
      report(where, `${name} uses {{${variable}}}, which the harness does not provide here`);
    else if (!(input in spec.inputs))
      report(['inputs'], `${name} uses {{inputs.${input}}}, but no input "${input}" is declared`);
  }
  return used;
}

/** Semantic rules after the schema passed; every problem is collected. */
export function checkRules(spec: ScenarioSpec, parsed: ParsedYaml, options: RuleOptions = {}): SourceIssue[] {
  const issues: SourceIssue[] = [];
  for (const rule of rules) {
    rule(
      spec,
      (path, message) => {
        issues.push({
          file: parsed.file,
          ...locate(parsed, path),
          path: path.map(String).join('.'),
          message,
        });
      },
      options,
    );
  }
  return issues;
}
