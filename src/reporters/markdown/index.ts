import { defineReporter } from '../../core/index.js';
import { MarkdownReporterOptions } from './schema.js';

export const markdownReporter = defineReporter({
  id: 'markdown',
  displayName: 'Markdown (report.md)',
  optionsSchema: MarkdownReporterOptions,
  docs: { summary: 'the report as Markdown, for tickets and pull requests', guide: 'docs/reports.md' },
  load: () => import('./reporter.js'),
});
