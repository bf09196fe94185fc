import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { HarnessError } from '../core/index.js';
import { templatesDir } from '../util/paths.js';

/** PowerShell single-quoted literal: the only escape inside '...' is a doubled quote. */
export function psq(value: unknown): string {
  const text = Array.isArray(value) ? value.map(String).join('|') : String(value);
  if (/[\r\n\0]/.test(text))
    throw new HarnessError(
      'E_UNSAFE_VALUE',
      `PowerShell value contains a line break or NUL: ${JSON.stringify(text)}`,
    );
  return `'${text.replaceAll("'", "''").replaceAll('\u2019', '\u2019\u2019').replaceAll('\u2018', '\u2018\u2018')}'`;
}

/**
 * Characters allowed in any value placed into an INF. A whitelist, because INF syntax has many ways to
 * start something new: `[` a section, `;` a comment, `%` a string substitution, `"` and `,` field edges,
 * and a line break a whole new directive.
 */
const infSafe = /^[A-Za-z0-9 _.:\\/>=+()-]*$/;

export function checkInfValue(path: string, value: string): void {
  if (infSafe.test(value)) return;
  const bad = /[^A-Za-z0-9 _.:\\/>=+()-]/.exec(value)?.[0] ?? '';
  const shown = bad === '\r' ? 'CR' : bad === '\n' ? 'LF' : JSON.stringify(bad);
  throw new HarnessError(
    'E_UNSAFE_VALUE',
    `value for ${path} contains ${shown}, which could inject INF syntax: ${JSON.stringify(value)}`,
    {
      hint: 'INF values may use letters, digits, spaces and _ . : \\ / > = + ( ) -. Change the scenario input.',
    },
  );
}

/** Checks every string reachable from the context, so no template can place an unchecked value. */
export function checkInfContext(value: unknown, path = 'context'): void {
  if (typeof value === 'string') checkInfValue(path, value);
  else if (Array.isArray(value))
    value.forEach((item, i) => {
      checkInfContext(item, `${path}[${i}]`);
    });
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) checkInfContext(item, `${path}.${key}`);
  }
}

/** One isolated instance for commands and INF text: strict (a missing variable throws) and no HTML escaping. */
export function createCommandEngine(): typeof Handlebars {
  const engine = Handlebars.create();
  engine.registerHelper('psq', psq);
  engine.registerPartial('prelude', readTemplate('remote/_prelude.ps1.hbs'));
  engine.registerPartial('cmlua', readTemplate('remote/_cmlua.ps1.hbs'));
  return engine;
}

export function readTemplate(relative: string): string {
  return readFileSync(join(templatesDir(), relative), 'utf8');
}

/**
 * A single backslash directly before `{{` escapes the mustache in Handlebars: `C:\dir\{{file}}` renders the
 * braces literally and drops the variable without any error, even in strict mode.
 */
export function findEscapedMustaches(template: string): { line: number; col: number }[] {
  const found: { line: number; col: number }[] = [];
  const lines = template.split('\n');
  lines.forEach((text, index) => {
    for (let i = text.indexOf('{{'); i !== -1; i = text.indexOf('{{', i + 2)) {
      const before = text.slice(0, i).match(/\\+$/)?.[0].length ?? 0;
      if (before % 2 === 1) found.push({ line: index + 1, col: i });
    }
  });
  return found;
}

export function compileStrict(
  engine: typeof Handlebars,
  template: string,
  name: string,
): HandlebarsTemplateDelegate {
  const escaped = findEscapedMustaches(template);
  if (escaped.length > 0) {
    const where = escaped.map((p) => `${name}:${p.line}:${p.col}`).join(', ');
    throw new HarnessError('E_TEMPLATE', `a single backslash before {{ disables the variable at ${where}`, {
      hint: 'Write \\\\{{ or use forward slashes in the template.',
    });
  }
  return engine.compile(template, { strict: true, noEscape: true });
}
