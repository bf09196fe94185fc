import test from 'ava';
import { errorMessage, type Executor, type HostTarget, type RemoteOperation } from '../../src/core/index.js';

export interface ExecutorFixture {
  readonly executor: Executor;
  readonly host: HostTarget;
  /** An operation the target answers with a framed `{ ok: true, ... }` and exit 0. */
  readonly okOperation: RemoteOperation;
  /** An operation the target answers with a non-zero exit code. */
  readonly failingOperation: RemoteOperation;
  /** Lists what a path holds on the target, to check uploads. */
  listOperation(dir: string): RemoteOperation;
  close(): Promise<void>;
}

/** The shared contract every executor passes. */
export function testExecutor(name: string, setup: () => Promise<ExecutorFixture>): void {
  test(`${name}: runs an operation and returns its frame and exit code`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());
    const session = await fixture.executor.open(fixture.host);
    t.teardown(() => session.close());

    const result = await session.run(fixture.okOperation);

    t.is(result.exitCode, 0);
    t.false(result.timedOut);
    t.like(result.frame, { ok: true });
  });

  test(`${name}: a non-zero exit code is a result, not an exception`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());
    const session = await fixture.executor.open(fixture.host);
    t.teardown(() => session.close());

    const result = await session.run(fixture.failingOperation);

    t.not(result.exitCode, 0);
    t.is(result.frame, null);
    t.false(result.stderr.includes('CLIXML'));
  });

  // #19 build point 6: an executor that ignores an abort would go on running cmstp after Ctrl-C.
  for (const [check, problems] of Object.entries(executorChecks))
    test(`${name}: contract: ${check}`, async (t) => {
      const fixture = await setup();
      t.teardown(() => fixture.close());
      t.deepEqual(await problems(fixture), []);
    });

  test(`${name}: uploads create missing folders`, async (t) => {
    const fixture = await setup();
    t.teardown(() => fixture.close());
    const session = await fixture.executor.open(fixture.host);
    t.teardown(() => session.close());
    const dir = 'C:\\ProgramData\\purple-harness\\runs\\phcontract0001';

    await session.upload(`${dir}\\phcontract0001.inf`, '[version]\r\nSignature=$chicago$\r\n');
    const listed = await session.run(fixture.listOperation(dir));

    t.like(listed.frame, { ok: true, items: [`dir:${dir}`, `file:${dir}\\phcontract0001.inf`] });
  });
}

/**
 * The executor contract's interrupt check as a function returning what is wrong, so a meta-test can show
 * it failing a deliberately broken executor (#19).
 */
export const executorChecks = {
  /** An interrupted run opens no session and starts no operation; the session still serves clean-up. */
  async interruptedRunStartsNothing(fixture: ExecutorFixture): Promise<string[]> {
    const problems: string[] = [];
    const stop = new AbortController();
    stop.abort();
    const refused = async (what: string, work: () => Promise<unknown>): Promise<void> => {
      try {
        await work();
        problems.push(`${what} went ahead after the run was interrupted`);
      } catch (error) {
        if (!/interrupted/.test(errorMessage(error)))
          problems.push(`${what} failed without saying it was interrupted: ${errorMessage(error)}`);
      }
    };
    await refused('opening a session', async () =>
      (await fixture.executor.open(fixture.host, stop.signal)).close(),
    );
    const session = await fixture.executor.open(fixture.host);
    try {
      await refused('an operation', () => session.run(fixture.okOperation, stop.signal));
      const after = await session.run(fixture.okOperation);
      if (after.exitCode !== 0)
        problems.push('the session no longer runs operations without the interrupt (clean-up)');
    } finally {
      await session.close();
    }
    return problems;
  },
} satisfies Record<string, (fixture: ExecutorFixture) => Promise<string[]>>;
