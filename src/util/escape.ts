/*
 * Escaping for the formats the reports are written in. Redaction (redact.ts) looks for a secret in each of
 * these forms, so the tables here are the single list of how a value can look once escaped.
 */

export type EntityTable = readonly (readonly [string, string])[];

/** Handlebars' HTML escaping (report.html, the dashboard). */
export const handlebarsEntities: EntityTable = [
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&#x27;'],
  ['`', '&#x60;'],
  ['=', '&#x3D;'],
];
/** XML's five predefined entities (fast-xml-builder for junit.xml, most XML writers). */
export const xmlEntities: EntityTable = [
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&apos;'],
];
/** Named entities with a numeric apostrophe: the SVG charts, and many HTML writers. */
export const svgEntities: EntityTable = [
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&#39;'],
];
/** Decimal character references for both quotes. */
export const decimalEntities: EntityTable = [
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&#34;'],
  ["'", '&#39;'],
];

/** Replaces each character of the table by its entity, the ampersand first. */
export function entities(text: string, table: EntityTable): string {
  return table.reduce((out, [char, entity]) => out.replaceAll(char, entity), text);
}

/** Escapes text for SVG/HTML. */
export function escapeXml(text: string): string {
  return entities(text, svgEntities);
}

/**
 * Inert Markdown text for one value from a host or a SIEM: no line break (so no forged heading or list), no
 * table pipe, no HTML, no way out of a code span (a backtick becomes U+02CB). run.json keeps the exact value.
 */
export function markdownText(text: string): string {
  return entities(text.replace(/[\r\n\u2028\u2029]+/g, ' '), [
    ['&', '&amp;'],
    ['<', '&lt;'],
    ['>', '&gt;'],
    ['|', '\\|'],
    ['`', '\u02cb'],
  ]);
}
