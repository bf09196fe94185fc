import { defineReporter } from '../../core/index.js';
import { NavigatorReporterOptions } from './schema.js';

export const navigatorReporter = defineReporter({
  id: 'navigator',
  displayName: 'ATT&CK Navigator layer (navigator-layer.json)',
  optionsSchema: NavigatorReporterOptions,
  docs: { summary: 'T1218.003 coloured by outcome, for ATT&CK Navigator', guide: 'docs/reports.md' },
  load: () => import('./reporter.js'),
});
