import { HarnessError, newMarker } from '../../core/index.js';
import { placeholderPayloadBase, renderEmulation } from '../../render/render.js';
import { scenarioPaths } from '../../config/defaults.js';
import { loadScenariosOrThrow } from '../../scenario/load.js';
import type { RuleOptions } from '../../scenario/rules.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

/** Prints what a run would generate, without connecting anywhere. */
export function renderCommand(
  paths: readonly string[],
  marker: string | undefined,
  output: Output,
  options: RuleOptions & { readonly json?: boolean } = {},
): ExitCode {
  if (paths.length !== 1)
    throw new HarnessError('E_USAGE', 'render takes exactly one scenario file', {
      hint: 'Name a file or a built-in id: purple-harness render cmstp-local-inf-presetup',
    });
  const [scenario] = loadScenariosOrThrow(scenarioPaths(paths, undefined), options);
  if (!scenario) throw new HarnessError('E_USAGE', 'no scenario loaded');
  const rendered = renderEmulation(scenario, {
    marker: marker ?? newMarker(),
    payloadBaseUrl: placeholderPayloadBase,
  });
  if (options.json === true) {
    const file = (f: { readonly content: string; readonly sha256: string }) => ({
      sha256: f.sha256,
      content: f.content,
    });
    output.out(
      JSON.stringify(
        {
          scenario: scenario.spec.id,
          marker: rendered.marker,
          command: rendered.cmstpCommandLine,
          payload: rendered.payload && { path: rendered.payload.remotePath, ...file(rendered.payload) },
          scriptlet:
            (rendered.scriptlet && { served: rendered.scriptlet.url, ...file(rendered.scriptlet) }) ??
            (rendered.stagedScriptlet && {
              path: rendered.stagedScriptlet.remotePath,
              ...file(rendered.stagedScriptlet),
            }),
          servedInf: rendered.servedInf?.url ?? null,
        },
        null,
        2,
      ),
    );
    return exitCodes.passed;
  }
  output.err(`# command: ${rendered.cmstpCommandLine}`);
  if (rendered.payload) {
    output.err(`# ${scenario.spec.id}: ${rendered.payload.remotePath} (sha256 ${rendered.payload.sha256})`);
    output.out(rendered.payload.content.replace(/\r\n/g, '\n').trimEnd());
  }
  if (rendered.scriptlet) {
    output.err(
      `# scriptlet served at ${rendered.scriptlet.url} (the payload server's address is filled in at run time)`,
    );
    output.out(rendered.scriptlet.content.replace(/\r\n/g, '\n').trimEnd());
  }
  if (rendered.stagedScriptlet) {
    const { remotePath, sha256 } = rendered.stagedScriptlet;
    output.err(`# scriptlet staged at ${remotePath} (sha256 ${sha256})`);
    output.out(rendered.stagedScriptlet.content.replace(/\r\n/g, '\n').trimEnd());
  }
  return exitCodes.passed;
}
