import { z } from 'zod';
import { cmstpFlags, type CmstpFlag } from '../core/index.js';

/*
 * Atomic Red Team test files (atomics/T1218.003/T1218.003.yaml): `attack_technique`, `atomic_tests[]` with
 * `supported_platforms`, typed `input_arguments`, `dependencies[]` and an `executor` with `#{arg}`
 * placeholders. Read loosely: it is someone else's format, and only the fields used here matter.
 */
export const AtomicFile = z.looseObject({
  attack_technique: z.string(),
  display_name: z.string().optional(),
  atomic_tests: z.array(
    z.looseObject({
      name: z.string(),
      auto_generated_guid: z.string().optional(),
      description: z.string().optional(),
      supported_platforms: z.array(z.string()).default([]),
      input_arguments: z
        .record(
          z.string(),
          z.looseObject({ default: z.union([z.string(), z.number(), z.boolean()]).optional() }),
        )
        .default({}),
      dependencies: z
        .array(
          z.looseObject({ prereq_command: z.string().optional(), get_prereq_command: z.string().optional() }),
        )
        .default([]),
      executor: z.looseObject({ name: z.string(), command: z.string().optional() }),
    }),
  ),
});
export type AtomicFile = z.infer<typeof AtomicFile>;

/** What one atomic test becomes: a scenario made from a built-in one, or a reason it cannot be. */
export type AtomicImport =
  | {
      readonly kind: 'scenario';
      readonly number: number;
      readonly name: string;
      readonly id: string;
      readonly title: string;
      readonly description: string;
      readonly from: string;
      readonly flags: readonly CmstpFlag[];
      /** Addresses the original fetched from the internet; the scenario fetches nothing. */
      readonly internet: readonly string[];
      /** Every part of the original command the scenario does not keep, each with why. */
      readonly dropped: readonly string[];
    }
  | { readonly kind: 'skipped'; readonly number: number; readonly name: string; readonly reason: string };

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** `#{name}` placeholders filled with the test's defaults, as the ART runner would. */
function expand(
  text: string,
  args: Readonly<Record<string, { default?: string | number | boolean | undefined }>>,
): string {
  return text.replace(/#\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => String(args[name]?.default ?? whole));
}

const cmstpWord = /\bcmstp(?:\.exe)?\b/i;

/**
 * What of the original command is not kept: every statement besides cmstp's (`&& notepad.exe`), and in
 * cmstp's own statement whatever precedes cmstp and every argument that is neither a cmstp flag we emulate
 * nor the INF (which is generated per run instead). Said, never silently dropped.
 */
export function droppedParts(command: string): string[] {
  const dropped: string[] = [];
  let infSeen = false;
  for (const statement of command.split(/\r?\n|&&|\|\||[;&|]/).map((s) => s.trim())) {
    if (statement === '') continue;
    const at = statement.search(cmstpWord);
    if (at === -1) {
      dropped.push(`"${statement}" (a command besides cmstp: not emulated)`);
      continue;
    }
    const before = statement.slice(0, at).trim();
    if (before !== '') dropped.push(`"${before}" (what starts cmstp: the harness starts it itself)`);
    const args = [...statement.slice(at).matchAll(/"[^"]*"|'[^']*'|\S+/g)].map((m) => m[0]).slice(1);
    for (const arg of args) {
      if ((cmstpFlags as readonly string[]).includes(arg.toLowerCase())) continue;
      if (!infSeen && !arg.startsWith('/')) {
        infSeen = true; // the INF: replaced by the generated one
        continue;
      }
      dropped.push(
        `"${arg}" (${arg.startsWith('/') ? 'a cmstp flag the harness does not emulate' : 'a further cmstp argument'})`,
      );
    }
  }
  return dropped;
}

/**
 * Maps each atomic test to a scenario built on our generated payloads. The procedure's shape picks the
 * built-in base (a scriptlet -> the remote-scriptlet one; /au -> the UAC-bypass one; otherwise the plain INF
 * install) and its cmstp flags are kept. Whatever the original downloaded is recorded, never fetched. Pure.
 */
export function importAtomic(file: AtomicFile): AtomicImport[] {
  const technique = file.attack_technique.toUpperCase();
  return file.atomic_tests.map((test, i): AtomicImport => {
    const number = i + 1;
    const name = test.name;
    if (!test.supported_platforms.some((p) => p.toLowerCase() === 'windows'))
      return {
        kind: 'skipped',
        number,
        name,
        reason: `not a Windows test (${test.supported_platforms.join(', ')})`,
      };
    const command = expand(test.executor.command ?? '', test.input_arguments);
    if (!/\bcmstp(\.exe)?\b/i.test(command))
      return { kind: 'skipped', number, name, reason: 'its command does not run cmstp.exe' };
    const texts = [
      command,
      ...Object.values(test.input_arguments).map((a) => String(a.default ?? '')),
      ...test.dependencies.flatMap((d) => [d.prereq_command ?? '', d.get_prereq_command ?? '']),
    ].map((t) => expand(t, test.input_arguments));
    const internet = [...new Set(texts.flatMap((t) => t.match(/https?:\/\/[^\s"'`)]+/g) ?? []))];
    const flags = [
      ...new Set(
        (command.match(/(?<=\s)\/[a-z]{1,2}\b/gi) ?? [])
          .map((f) => f.toLowerCase())
          .filter((f): f is CmstpFlag => (cmstpFlags as readonly string[]).includes(f)),
      ),
    ];
    const scriptlet = /scriptlet|\.sct\b|scrobj/i.test([name, test.description ?? '', ...texts].join('\n'));
    const from = scriptlet
      ? 'art-t1218-003-1-remote-scriptlet'
      : flags.includes('/au')
        ? 'art-t1218-003-2-uac-bypass'
        : 'cmstp-local-inf-presetup';
    const dropped = droppedParts(command);
    const id = `art-${slug(technique)}-${String(number)}-${slug(name)}`.slice(0, 64).replace(/-$/, '');
    const fetched =
      internet.length === 0
        ? ''
        : ` The original fetched ${internet.join(', ')} from the internet; this scenario fetches nothing: its INF${scriptlet ? ' and scriptlet are' : ' is'} generated per run${scriptlet ? ", the scriptlet served by the harness's own payload server" : ''}.`;
    return {
      kind: 'scenario',
      number,
      name,
      id,
      title: `Atomic Red Team ${technique} #${String(number)}, imported: ${name}`,
      description: `Imported from Atomic Red Team ${technique} test #${String(number)} "${name}"${test.auto_generated_guid ? ` (${test.auto_generated_guid})` : ''}, re-expressed on the built-in ${from}: the same cmstp.exe procedure (${flags.join(' ') || 'no flags'}), with a generated, marker-only payload.${fetched}${dropped.length === 0 ? '' : ` Not kept from the original command: ${dropped.join('; ')}.`}`,
      from,
      flags: flags.length > 0 ? flags : ['/s'],
      internet,
      dropped,
    };
  });
}
