import type { ReporterDefinition } from '../core/index.js';
import { attireReporter } from './attire/index.js';
import { htmlReporter } from './html/index.js';
import { jsonReporter } from './json/index.js';
import { junitReporter } from './junit/index.js';
import { markdownReporter } from './markdown/index.js';
import { navigatorReporter } from './navigator/index.js';

export const reporters = {
  json: jsonReporter,
  markdown: markdownReporter,
  html: htmlReporter,
  junit: junitReporter,
  navigator: navigatorReporter,
  attire: attireReporter,
} satisfies Record<string, ReporterDefinition>;
export type ReporterId = keyof typeof reporters;
