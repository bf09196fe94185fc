import {
  decimalEntities,
  entities,
  handlebarsEntities,
  markdownText,
  svgEntities,
  xmlEntities,
} from './escape.js';

/*
 * A secret reaches an output in whatever encoding the output uses: escaped in JSON (run.json, evidence),
 * as entities in HTML and XML (report.html, junit.xml), escaped in Markdown (report.md), percent-encoded in
 * a URL, or base64-encoded (an encoded PowerShell command, a Basic auth header). Redaction looks for every
 * one of those forms, not only the raw text.
 */

const json = (text: string): string => JSON.stringify(text).slice(1, -1);

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer base64 text: for each of the three
 * alignments, the characters that depend on the secret's bytes alone. A secret inside an encoded command is
 * found whatever came before it.
 */
function base64Fragments(bytes: Buffer): string[] {
  const fragments: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const start = [0, 2, 3][offset] ?? 0;
    const end = 4 * Math.floor((offset + bytes.length) / 3);
    const fragment = encoded.slice(start, end);
    if (fragment.length >= 8) fragments.push(fragment, fragment.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return fragments;
}

const formsCache = new Map<string, readonly string[]>();

/** Every form of `secret` this harness's outputs can carry, longest first. */
export function secretForms(secret: string): readonly string[] {
  const cached = formsCache.get(secret);
  if (cached !== undefined) return cached;
  const utf8 = Buffer.from(secret, 'utf8');
  const base = [secret, json(secret), json(json(secret))];
  const forms = new Set<string>([
    ...base,
    ...base.flatMap((form) => [
      ...[handlebarsEntities, xmlEntities, svgEntities, decimalEntities].map((table) =>
        entities(form, table),
      ),
      markdownText(form),
    ]),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    encodeURI(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    utf8.toString('base64'),
    utf8.toString('base64url'),
    ...base64Fragments(utf8),
    ...base64Fragments(Buffer.from(secret, 'utf16le')),
  ]);
  const sorted = [...forms].filter((form) => form.length >= 4).sort((a, b) => b.length - a.length);
  formsCache.set(secret, sorted);
  return sorted;
}

/**
 * Replaces every known secret value in text, in every encoding the outputs use (see secretForms). Values
 * shorter than 4 characters are not treated as secrets.
 */
export function redact(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    for (const form of secretForms(secret)) if (out.includes(form)) out = out.replaceAll(form, '[REDACTED]');
  }
  return out;
}
