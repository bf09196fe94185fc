import type { LoadedScenario, RenderedEmulation, RemoteOperation } from '../core/index.js';
import { HarnessError, errorMessage } from '../core/index.js';
import { sha256 } from '../util/hash.js';
import { checkInfContext, compileStrict, createCommandEngine, readTemplate } from './engine.js';

/** Where every run lives on the target: one folder per marker, under a harness-owned root. */
export const remoteRoot = 'C:\\ProgramData\\purple-harness\\runs';

export interface RenderOptions {
  readonly marker: string;
  readonly inputs?: Readonly<Record<string, string | number | boolean>>;
}

function payloadCommand(action: string, marker: string, markerPath: string): string {
  switch (action) {
    case 'marker-file':
      return `cmd.exe /c echo ${marker}> ${markerPath}`;
    case 'marker-process':
      return `cmd.exe /c echo ${marker}`;
    default:
      throw new HarnessError(
        'E_SCENARIO_INVALID',
        `payload action "${action}" is not in the benign catalogue`,
      );
  }
}

function renderWith(
  engine: ReturnType<typeof createCommandEngine>,
  name: string,
  context: Record<string, unknown>,
): string {
  try {
    return compileStrict(engine, readTemplate(name), name)(context);
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    throw new HarnessError('E_TEMPLATE', `[render] template ${name}: ${errorMessage(error)}`, {
      cause: error,
      hint: 'Every {{variable}} in a template must be provided: declare scenario inputs under `inputs:`.',
    });
  }
}

/** Renders one scenario for one run marker: the INF, the cmstp command line and the remote operations. */
export function renderEmulation(loaded: LoadedScenario, options: RenderOptions): RenderedEmulation {
  const { spec } = loaded;
  const { marker } = options;
  if (!/^[a-z0-9]{8,32}$/.test(marker))
    throw new HarnessError(
      'E_UNSAFE_VALUE',
      `run marker must be 8-32 lower-case letters or digits: ${marker}`,
    );
  const engine = createCommandEngine();
  const runDir = `${remoteRoot}\\${marker}`;
  const payloadPath = `${runDir}\\${marker}${spec.emulation.inf.extension}`;
  const markerPath = `${runDir}\\${marker}.txt`;
  const inputs: Record<string, string | number | boolean> = {};
  for (const [name, input] of Object.entries(spec.inputs))
    inputs[name] = options.inputs?.[name] ?? input.default;

  const infContext = {
    marker,
    runDir,
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, String(v)])),
    payloadCommand: payloadCommand(spec.emulation.payload.action, marker, markerPath),
  };
  checkInfContext(infContext);
  // INF files are read as ANSI text with CRLF line ends; SFTP writes bytes as given.
  const inf = renderWith(engine, spec.emulation.inf.template, infContext).replace(/\r?\n/g, '\r\n');

  const cmstpArguments = [...spec.emulation.cmstp.flags, payloadPath].join(' ');
  const op = (name: string, timeoutMs: number, extra: Record<string, unknown> = {}): RemoteOperation => ({
    name,
    timeoutMs,
    script: renderWith(engine, `remote/${name}.ps1.hbs`, { marker, runDir, ...extra }),
  });
  return {
    marker,
    runDir,
    payload: { remotePath: payloadPath, content: inf, sha256: sha256(inf) },
    markerPath,
    scriptlet: null,
    cmstpCommandLine: `C:\\Windows\\System32\\cmstp.exe ${cmstpArguments}`,
    payloadEvidence: spec.emulation.payload.action === 'marker-file' ? 'marker-file' : 'exit-code',
    operations: {
      preflight: op('preflight', 30_000),
      snapshot: op('snapshot', 30_000),
      // The target-side deadline is the scenario's; the client watchdog adds slack on top.
      run: op('run-cmstp', spec.timeouts.execute + 15_000, {
        payloadPath,
        cmstpArguments,
        markerPath,
        timeoutMs: String(spec.timeouts.execute),
      }),
      cleanup: (createdKeys) => op('cleanup', 60_000, { createdKeys: [...createdKeys] }),
    },
  };
}
