import test from 'ava';
import type { TelemetryQuery } from '../../core/index.js';
import { exampleQuery } from '../../signals/backends.js';
import { canaryProbe } from '../../signals/canary.js';
import { signalCatalog } from '../../signals/catalog.js';
import { compileKql, compileKqlBatch } from '../../signals/compile-backends.js';
import type { SysmonSource } from '../../signals/field-map.js';
import { kustoDiagnostics } from '../../../test/helpers/kusto.js';
import { sentinelWorkspace, sysmonParsers } from '../../../test/helpers/sentinel-workspace.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { sentinelSiem } from './index.js';
import { SentinelSiemOptions } from './schema.js';

/**
 * #16: every KQL text the Sentinel connector can send, bound by Microsoft's own Kusto binder against the
 * documented tables and the `Sysmon` function of the public parsers, so a type error (a long compared with
 * a string), a missing column or a misspelt table fails here and not in a customer's workspace.
 */
const signals = Object.values(signalCatalog);

/** The bindings a run really has: all known, the pid never learnt, and values that need escaping. */
const variants: Record<string, TelemetryQuery> = {
  example: { ...exampleQuery(), signals },
  'pid unknown': {
    ...exampleQuery(),
    bindings: { ...exampleQuery().bindings, cmstpPid: 'none', payloadPort: 'none' },
    signals,
  },
  'hostile values': {
    ...exampleQuery(),
    host: 'WIN"10\\LAB',
    marker: 'ph"0123\\456',
    bindings: {
      ...exampleQuery().bindings,
      marker: 'ph"0123\\456',
      payloadFile: 'a"b\\c.inf',
      payloadHost: 'x".test',
    },
    signals,
  },
};

const kqlOf = (query: string | Record<string, unknown>): string =>
  typeof query === 'string' ? query : JSON.stringify(query);

async function everyText(sysmon: SysmonSource = 'function'): Promise<{ name: string; text: string }[]> {
  const connector = await (
    await sentinelSiem.load()
  ).create(
    SentinelSiemOptions.parse({
      workspaceId: '0d9b4c2a-7e1f-4a3b-8c5d-6e7f8a9b0c1d',
      credential: 'token',
      sysmon,
    }),
    pluginContext({ SENTINEL_TOKEN: 'token' }),
  );
  const texts: { name: string; text: string }[] = [];
  for (const [variant, query] of Object.entries(variants)) {
    texts.push({
      name: `${variant}: batch`,
      text: connector.queryText({ ...query, signals: [...signals, canaryProbe] }),
    });
    for (const signal of [...signals, canaryProbe]) {
      texts.push({
        name: `${variant}: ${signal.id}`,
        text: kqlOf(compileKql(signal, query, sysmon).query),
      });
      texts.push({
        name: `${variant}: ${signal.id} alone`,
        text: compileKqlBatch({ ...query, signals: [signal] }, sysmon),
      });
    }
    texts.push({
      name: `${variant}: detections`,
      text:
        connector.detectionText?.({
          host: query.host,
          since: query.since,
          until: query.until,
          eventRefs: [],
          marker: query.marker,
        }) ?? '',
    });
  }
  await connector.dispose();
  return texts;
}

for (const parser of ['v11.0', 'all-versions'] as const) {
  test(`#16 every KQL text the connector sends binds without error in Microsoft's Kusto binder (Sysmon parser ${parser})`, async (t) => {
    const workspace = sentinelWorkspace(parser);
    const texts = await everyText();
    t.true(texts.length > 40);
    for (const { name, text } of texts) {
      const problems = kustoDiagnostics(text, workspace);
      t.deepEqual(problems, [], `${name}\n${text}`);
    }
  });
}

test('#16 the binder is no rubber stamp: a long compared with a string, an unknown column and the v12.0 parser (no Computer, no TimeGenerated) are errors', (t) => {
  const v11 = sentinelWorkspace('v11.0');
  t.regex(
    kustoDiagnostics('DeviceImageLoadEvents | where InitiatingProcessId =~ @"4242"', v11)[0]?.message ?? '',
    /not defined for the operand types long and string/,
  );
  t.regex(kustoDiagnostics('Sysmon | where ProcessId =~ @"4242"', v11)[0]?.message ?? '', /long and string/);
  t.regex(kustoDiagnostics('SecurityEvent | where NoSuchColumn == 1', v11)[0]?.message ?? '', /NoSuchColumn/);
  const batch = compileKqlBatch({ ...exampleQuery(), signals });
  const v12 = kustoDiagnostics(batch, sentinelWorkspace('v12.0')).map((d) => d.message);
  t.true(v12.some((m) => /'Computer'/.test(m)));
  t.true(v12.some((m) => /'TimeGenerated'/.test(m)));
  t.truthy(sysmonParsers['v12.0']);
});

test('#16 with no Sysmon function, the union still parses but the binder warns that Sysmon is unknown: what `doctor` turns into a configuration error', (t) => {
  const batch = compileKqlBatch({ ...exampleQuery(), signals });
  const problems = kustoDiagnostics(batch, sentinelWorkspace(null));
  t.true(problems.length > 0);
  t.true(
    problems.every((p) => p.severity === 'Warning' && /'Sysmon'/.test(p.message)),
    JSON.stringify(problems),
  );
});

for (const sysmon of ['asim', 'asim-workspace'] as const) {
  test(`#16 with sysmon: ${sysmon}, every KQL text binds without error against the ASIM parsers' documented output (and the Sysmon function for Sysmon 7, 10 and 22)`, async (t) => {
    const workspace = sentinelWorkspace('v11.0', { asimDeployed: sysmon === 'asim-workspace' });
    const texts = await everyText(sysmon);
    const parsers =
      sysmon === 'asim'
        ? ['_Im_ProcessCreate', '_Im_NetworkSession', '_Im_FileEvent', '_Im_RegistryEvent']
        : ['imProcessCreate', 'imNetworkSession', 'imFileEvent', 'imRegistry'];
    const batch = texts.find((x) => x.name === 'example: batch')?.text ?? '';
    for (const parser of parsers)
      t.true(batch.includes(`(${parser} | where EventProduct == "Sysmon"`), parser);
    // Sysmon 7 and 10 have no ASIM schema, and the Sysmon DNS parser reads only WindowsEvent.
    t.regex(batch, /\(Sysmon \| where EventID in \(7\)/);
    t.regex(batch, /\(Sysmon \| where EventID in \(22\)/);
    t.notRegex(batch, /\(Sysmon \| where EventID in \((1|3|11|12, 13)\)/);
    for (const { name, text } of texts)
      t.deepEqual(kustoDiagnostics(text, workspace), [], `${name}\n${text}`);
    // Against a workspace without the parsers it names, the binder objects: what doctor checks first.
    const bare = sentinelWorkspace('v11.0', { asimBuiltIn: false });
    t.true(kustoDiagnostics(batch, bare).some((d) => d.message.includes(parsers[0] ?? '?')));
  });
}
