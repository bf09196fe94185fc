import type { Publication, ReportArtifact, Reporter, ReporterDefinition, RunResult } from '../core/index.js';
import { attireReporter } from './attire/index.js';
import { htmlReporter } from './html/index.js';
import { jsonReporter } from './json/index.js';
import { junitReporter } from './junit/index.js';
import { markdownReporter } from './markdown/index.js';
import { navigatorReporter } from './navigator/index.js';

/** Every report format, and the only list of them; all are written unless the config picks some. */
export const reporters = {
  json: jsonReporter,
  markdown: markdownReporter,
  html: htmlReporter,
  junit: junitReporter,
  navigator: navigatorReporter,
  attire: attireReporter,
} satisfies Record<string, ReporterDefinition>;
export type ReporterId = keyof typeof reporters;

/** The format names, in the order reports are listed. */
export const reportFormats = Object.keys(reporters) as [ReporterId, ...ReporterId[]];

/** Reporters loaded for a set of formats: rendering is synchronous and pure once they are. */
export interface LoadedReporters {
  readonly formats: readonly ReporterId[];
  render(run: RunResult, publication?: Publication): ReportArtifact[];
}

/** The reporters for these formats, loaded and created with their (empty-by-default) options checked. */
export async function loadReporters(formats: readonly ReporterId[]): Promise<LoadedReporters> {
  const loaded: Reporter[] = await Promise.all(
    formats.map(async (format) => {
      const definition: ReporterDefinition = reporters[format];
      return (await definition.load()).create(definition.optionsSchema.parse({}));
    }),
  );
  return {
    formats,
    render: (run, publication) => loaded.flatMap((reporter) => reporter.render(run, publication)),
  };
}
