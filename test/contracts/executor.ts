import test from 'ava';
import type { Executor, HostTarget, RemoteOperation } from '../../src/core/index.js';

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
