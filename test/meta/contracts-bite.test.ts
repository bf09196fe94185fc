import test from 'ava';
import type { Executor, Reporter, RunResult, SiemConnector } from '../../src/core/index.js';
import { executorChecks } from '../contracts/executor.js';
import { sshFixture } from '../helpers/ssh-fixture.js';
import { reporters } from '../../src/reporters/registry.js';
import { createdReporter, reporterChecks } from '../contracts/reporter.js';
import { siemChecks, type SiemFixture } from '../contracts/siem-connector.js';
import { splunkFixture } from '../helpers/splunk-fixture.js';
import { localSiemFixture } from '../helpers/local-siem-fixture.js';

type Check = keyof typeof reporterChecks;

/** A reporter whose every render first passes the run through `change`. */
function feeding(reporter: Reporter, change: (run: RunResult) => RunResult): Reporter {
  return { render: (run, publication) => reporter.render(change(run), publication) };
}

/** A reporter that adds one artifact of its own to what it writes. */
function adding(reporter: Reporter, path: string, content: () => string): Reporter {
  return {
    render: (run, publication) => [...reporter.render(run, publication), { path, content: content() }],
  };
}

const signalsOf = (
  run: RunResult,
  change: (s: RunResult['results'][number]['signals']) => RunResult['results'][number]['signals'],
): RunResult => ({
  ...run,
  results: run.results.map((r) => ({ ...r, signals: change(r.signals) })),
});

/** Ways to break a reporter, each with the checks of which at least one must catch it. */
const breakages: readonly {
  name: string;
  caughtBy: readonly Check[];
  broken: (d: Reporter) => Reporter;
}[] = [
  {
    name: 'drops every verdict (shows each signal as passed)',
    caughtBy: ['verdictsShown'],
    broken: (d) =>
      feeding(d, (run) => signalsOf(run, (signals) => signals.map((s) => ({ ...s, verdict: 'pass' })))),
  },
  {
    name: 'leaves the child-process signal out',
    caughtBy: ['signalsNamed', 'verdictsShown'],
    broken: (d) =>
      feeding(d, (run) => signalsOf(run, (signals) => signals.filter((s) => s.id !== 'child-process'))),
  },
  {
    name: 'labels every run passed',
    caughtBy: ['statusShown'],
    broken: (d) => feeding(d, (run) => ({ ...run, status: 'passed' })),
  },
  {
    name: 'stamps the time it rendered',
    caughtBy: ['deterministic'],
    broken: (d) => adding(d, 'rendered-at.txt', () => String(process.hrtime.bigint())),
  },
  {
    name: 'writes outside the report folder',
    caughtBy: ['relativePaths'],
    broken: (d) => adding(d, '../escaped.txt', () => 'x'),
  },
];

// #19 build point 6: the reporter contract bites. Each real reporter holds every check; each broken one
// is caught by the check meant for its fault.
for (const [id, definition] of Object.entries(reporters)) {
  test(`reporters/${id}: holds the contract, and each deliberately broken version fails it`, async (t) => {
    const reporter = await createdReporter(definition);
    for (const [check, problems] of Object.entries(reporterChecks))
      t.deepEqual(problems(reporter), [], `${id} itself: ${check}`);
    for (const { name, caughtBy, broken } of breakages) {
      const variant = broken(reporter);
      const found = caughtBy.flatMap((check) => reporterChecks[check](variant));
      t.true(found.length > 0, `${id} that ${name} passed ${caughtBy.join(' and ')}`);
    }
  });
}

/** Ways to break a SIEM connector, each with the check that must catch it. */
const connectorBreakages: readonly {
  name: string;
  caughtBy: keyof typeof siemChecks;
  broken: (c: SiemConnector) => SiemConnector;
}[] = [
  {
    name: 'ignores the abort signal',
    caughtBy: 'abortedQueryRefused',
    broken: (c) => ({
      ...c,
      findTelemetry: (query) => c.findTelemetry(query),
      findDetections: (query) => c.findDetections(query),
    }),
  },
  {
    name: 'answers a failed search with nothing',
    caughtBy: 'failedSearchIsAnError',
    broken: (c) => ({
      ...c,
      findTelemetry: (query, signal) => c.findTelemetry(query, signal).catch(() => new Map()),
    }),
  },
  {
    name: 'lets a bare transport error through, naming no plug-in',
    caughtBy: 'failedSearchIsAnError',
    broken: (c) => ({
      ...c,
      findTelemetry: (query, signal) =>
        c.findTelemetry(query, signal).catch((error: unknown) => {
          throw new Error(`socket hang up (${String(error)})`);
        }),
    }),
  },
  {
    name: 'declares closeAlerts in its entry but has no closeAlerts method',
    caughtBy: 'capabilitiesMatchMethods',
    broken: (c) => Object.assign(Object.create(c) as SiemConnector, { closeAlerts: undefined }),
  },
  {
    name: 'has a findHostAlerts method its entry does not declare',
    caughtBy: 'capabilitiesMatchMethods',
    broken: (c) =>
      Object.assign(Object.create(c) as SiemConnector, { findHostAlerts: () => Promise.resolve([]) }),
  },
];

// #19 build point 6: the SIEM contract bites, shown on the Splunk connector over its loopback fake.
test('siem/splunk: holds the fault checks, and each deliberately broken version fails the one meant for it', async (t) => {
  const withFixture = async (change: (c: SiemConnector) => SiemConnector, check: keyof typeof siemChecks) => {
    const fixture = await splunkFixture();
    try {
      const changed: SiemFixture = { ...fixture, connector: change(fixture.connector) };
      return await siemChecks[check](changed);
    } finally {
      await fixture.close();
    }
  };
  for (const check of Object.keys(siemChecks) as (keyof typeof siemChecks)[])
    t.deepEqual(await withFixture((c) => c, check), [], `the real connector: ${check}`);
  for (const { name, caughtBy, broken } of connectorBreakages)
    t.true((await withFixture(broken, caughtBy)).length > 0, `a connector that ${name} passed ${caughtBy}`);
});

/** `c` with some calls replaced, the rest called on `c` itself (its methods use private fields). */
function overriding(c: SiemConnector, changes: Partial<SiemConnector>): SiemConnector {
  return new Proxy(c, {
    get: (target, key, receiver) => {
      if (key in changes) return changes[key as keyof SiemConnector];
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// #20: a batch that hands one pair's rows to another, or answers out of order, fails the batch check.
test('siem/local: its batch answers each pair as alone, and broken batches fail the check', async (t) => {
  const check = async (change: (c: SiemConnector) => SiemConnector): Promise<string[]> => {
    const fixture = await localSiemFixture();
    try {
      return await siemChecks.batchAnswersAsAlone({ ...fixture, connector: change(fixture.connector) });
    } finally {
      await fixture.close();
    }
  };
  t.deepEqual(await check((c) => c), []);
  const breakages: Record<string, (c: SiemConnector) => SiemConnector> = {
    'answers the pairs in reverse order': (c) =>
      overriding(c, {
        findTelemetryBatch: async (queries) => [...((await c.findTelemetryBatch?.(queries)) ?? [])].reverse(),
      }),
    "gives every pair the first pair's host": (c) =>
      overriding(c, {
        findTelemetryBatch: async (queries) =>
          (await c.findTelemetryBatch?.(queries.map((q) => ({ ...q, host: queries[0]?.host ?? q.host })))) ??
          [],
      }),
    'gives each pair the alerts of every pair': (c) =>
      overriding(c, {
        findDetectionsBatch: async (queries) => {
          const all = ((await c.findDetectionsBatch?.(queries)) ?? []).flat();
          return queries.map(() => all);
        },
      }),
  };
  for (const [name, broken] of Object.entries(breakages))
    t.true((await check(broken)).length > 0, `a batch that ${name} passed`);
});

// #19 build point 6: the executor contract bites: an SSH executor that ignores the abort signal would go
// on staging and running cmstp after Ctrl-C.
test('executors/ssh: holds the interrupt check, and a version that ignores the abort signal fails it', async (t) => {
  const ignoring = (executor: Executor): Executor => ({
    open: async (host) => {
      const session = await executor.open(host);
      return {
        hostKeySha256: session.hostKeySha256,
        upload: (path, content) => session.upload(path, content),
        run: (operation) => session.run(operation),
        close: () => session.close(),
      };
    },
  });
  for (const [label, change] of [
    ['the real executor', (e: Executor) => e],
    ['one that ignores the abort signal', ignoring],
  ] as const) {
    const fixture = await sshFixture();
    try {
      const problems = await executorChecks.interruptedRunStartsNothing({
        ...fixture,
        executor: change(fixture.executor),
      });
      if (label === 'the real executor') t.deepEqual(problems, [], label);
      else t.true(problems.length > 0, `${label} passed`);
    } finally {
      await fixture.close();
    }
  }
});
