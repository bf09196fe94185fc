import { defineReporter } from '../../core/index.js';
import { JunitReporterOptions } from './schema.js';

export const junitReporter = defineReporter({
  id: 'junit',
  displayName: 'JUnit XML (junit.xml)',
  optionsSchema: JunitReporterOptions,
  docs: { summary: 'one test case per signal, for CI', guide: 'docs/reports.md' },
  load: () => import('./reporter.js'),
});
