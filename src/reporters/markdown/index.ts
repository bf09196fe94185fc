import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineReporter, evalsLabel, formatMs, type Outcome, type RunResult } from '../../core/index.js';
import { templatesDir } from '../../util/paths.js';
import { MarkdownReporterOptions } from './schema.js';

/** Markdown table cells: no pipes or line breaks, and no HTML. */
function cell(value: unknown): string {
  const text =
    typeof value === 'string' ? value : value === null || value === undefined ? '' : JSON.stringify(value);
  return text.replace(/\r?\n/g, ' ').replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function createTemplate(): (context: { run: RunResult; simulated: boolean }) => string {
  const engine = Handlebars.create();
  engine.registerHelper('cell', cell);
  // run.json keeps every field whole; the human report clips long values such as encoded command lines.
  engine.registerHelper('clip', (value: unknown) => {
    const text = cell(value);
    return text.length > 160 ? `${text.slice(0, 160)}…` : text;
  });
  engine.registerHelper('upper', (value: unknown) => String(value).toUpperCase());
  engine.registerHelper('yesno', (value: unknown) =>
    value === true ? 'yes' : value === false ? 'no' : 'n/a',
  );
  engine.registerHelper('isBool', (value: unknown) => typeof value === 'boolean');
  engine.registerHelper('late', (value: unknown) => (value === 'late' ? ' (late)' : ''));
  engine.registerHelper('ms', (value: unknown) => formatMs(typeof value === 'number' ? value : null));
  engine.registerHelper('evals', (value: Outcome) => evalsLabel(value));
  const source = readFileSync(join(templatesDir(), 'report', 'report.md.hbs'), 'utf8');
  return engine.compile(source, { strict: false, noEscape: true });
}

export const markdownReporter = defineReporter({
  id: 'markdown',
  displayName: 'Markdown (report.md)',
  optionsSchema: MarkdownReporterOptions,
  create() {
    const template = createTemplate();
    return {
      render: (run) => [
        { path: 'report.md', content: template({ run, simulated: run.lab === 'simulated' }) },
      ],
    };
  },
});
