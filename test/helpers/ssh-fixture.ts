import { join } from 'node:path';
import { SshExecutorOptions } from '../../src/executors/ssh/schema.js';
import { renderEmulation } from '../../src/render/render.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import type { ExecutorFixture } from '../contracts/executor.js';
import { pluginContext, startTestLab } from './lab.js';
import { create as createSshExecutor } from '../../src/executors/ssh/executor.js';

const rendered = (marker: string) => {
  const [scenario] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
  if (!scenario) throw new Error('built-in scenario missing');
  return renderEmulation(scenario, { marker });
};

/** The SSH executor against the lab simulator, as its contract test and the contract meta-test use it. */
export async function sshFixture(): Promise<ExecutorFixture> {
  const lab = await startTestLab();
  return {
    executor: createSshExecutor(SshExecutorOptions.parse({}), pluginContext({})),
    host: lab.host,
    okOperation: rendered('phcontract0001').operations.preflight,
    failingOperation: {
      name: 'unknown',
      timeoutMs: 10_000,
      script: '# purple-harness remote operation: no-such-op v1\n',
    },
    listOperation: (dir) => ({
      ...rendered('phcontract0001').operations.snapshot,
      script: rendered('phcontract0001').operations.snapshot.script.replace(
        /^\$PhRunDir = .*$/m,
        `$PhRunDir = '${dir}'`,
      ),
    }),
    close: () => lab.close(),
  };
}
