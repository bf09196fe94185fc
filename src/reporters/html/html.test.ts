import test from 'ava';
import { sampleRun, testReporter } from '../../../test/contracts/reporter.js';
import { create as createReporter, noBlindSpotsSentence } from './reporter.js';
import { htmlReporter } from './index.js';

testReporter('reporters/html', htmlReporter);

const render = (run = sampleRun()): string => createReporter().render(run)[0]?.content ?? '';

test('self-contained: no scripts, no external stylesheets, fonts or images', (t) => {
  const html = render();

  t.notRegex(html, /<script/i);
  t.notRegex(html, /<link\b/i);
  t.notRegex(html, /@import|url\(/i);
  t.notRegex(html, /\s(src|href)="(https?:)?\/\//i);
  t.regex(html, /<style>/);
  t.regex(html, /@media print/);
});

test('values from hosts and SIEMs are text, never markup', (t) => {
  const run = sampleRun();
  const [first] = run.results;
  const [signal] = first?.signals ?? [];
  if (!first || !signal) throw new Error('sample has a signal');
  const hostile = {
    ...run,
    results: [{ ...first, signals: [{ ...signal, reason: '<img src=x onerror=alert(1)>' }] }],
  };

  const html = render(hostile);

  t.false(html.includes('<img src=x'));
  t.true(html.includes('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;'));
});

test('shows the summary, the matrix, blind spots, latencies, clean-up, controls and the evidence index', (t) => {
  const html = render();

  for (const id of ['summary', 'matrix', 'blind-spots', 'latencies', 'controls', 'scenarios'])
    t.regex(html, new RegExp(`<section id="${id}">`), id);
  t.regex(html, /SIMULATED LAB/);
  t.regex(html, /<td class="cell pass"[^>]*>pass<br><small>alert<\/small>/);
  t.regex(html, /<td class="cell fail"[^>]*>fail<br><small>none<\/small>/);
  t.regex(
    html,
    /SI-4<\/strong> System Monitoring<\/td><td>detection<\/td><td class="s-demonstration">DEMONSTRATION ONLY<\/td><td>cmstp-exec, child-process on WIN10-LAB-01<\/td><td>Demonstration only: /,
  );
  t.notRegex(html, /class="s-met"|>MET</, 'a simulated run shows no MET control');
  t.regex(
    render(sampleRun('real')),
    /SI-4<\/strong> System Monitoring<\/td><td>detection<\/td><td class="s-not-met">NOT MET<\/td><td>child-process on WIN10-LAB-01 \(cmstp-local-inf-presetup\)<\/td><td>Not observed in this run, so not shown: /,
  );
  t.regex(html, /<a href="evidence\/cmstp-local-inf-presetup\/WIN10-LAB-01\/siem\/cmstp-exec\.json">/);
  t.regex(html, /id="mttd">2\.0 s</);
  t.notRegex(render(sampleRun('real')), /SIMULATED LAB/);
});

test('#18 "no blind spots" says whether preflight could look: none found, partly unknown, or not known at all', (t) => {
  t.is(
    noBlindSpotsSentence(['ready', 'ready']),
    "None: preflight found every host's sensors able to record every expected signal.",
  );
  t.is(
    noBlindSpotsSentence(['ready', 'unknown', 'ready']),
    'None found where preflight could tell; for 1 of 3 expected signals it could not.',
  );
  t.regex(noBlindSpotsSentence(['unknown', 'unknown']), /^Not known: preflight did not report/);
  const run = sampleRun();
  const unknown = {
    ...run,
    results: run.results.map((r) => ({
      ...r,
      signals: r.signals.map((s) => ({ ...s, readiness: 'unknown' as const })),
    })),
  };
  t.regex(render(unknown), /<p id="blind-spots-none">Not known: /);
});

test('#18 the report opens with its findings and carries an integrity section naming the chain and the signer', (t) => {
  const html =
    createReporter().render(sampleRun('real'), {
      previous: { runId: '20261122T120000Z-zzzzzz', sha256: 'ab'.repeat(32) },
      signingKeyId: 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    })[0]?.content ?? '';

  t.regex(
    html,
    /<p id="findings-line" class="findings">Findings: 1 of 3 expected signal\(s\) passed, 1 failed, 1 could not be judged\. Failed: child-process \(cmstp-local-inf-presetup on WIN10-LAB-01\)\.<\/p>/,
  );
  t.true(html.indexOf('id="findings"') < html.indexOf('id="summary"'), 'the findings come first');
  t.regex(html, /<p id="findings-cleanup">Clean-up: /);
  t.regex(
    html,
    /Chain: manifest\.json links to run 20261122T120000Z-zzzzzz, whose manifest has SHA-256 (ab){32}\./,
  );
  t.regex(
    html,
    /Signature: manifest\.json is signed with Ed25519 \(manifest\.sig\.json\), key SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\./,
  );
  t.regex(html, /Check it: npx purple-harness verify reports\/20261123T120000Z-abcdef /);
  const first =
    createReporter().render(sampleRun('real'), { previous: null, signingKeyId: null })[0]?.content ?? '';
  t.regex(first, /Chain: this is the first run in its reports folder/);
  t.regex(first, /Signature: not signed \(set PURPLE_HARNESS_SIGNING_KEY/);
});

test('#21 a detection suggestion shows its proof, files, Sigma and queries as text (a rule written from host data is never markup); a withheld one says why', (t) => {
  const run = sampleRun();
  const html = render({
    ...run,
    suggestions: {
      offered: [
        {
          scenario: 'cmstp-local-inf-presetup',
          host: 'WIN10-LAB-01',
          signal: 'child-process',
          rule: {
            id: '4105fe39-eaab-4be4-b329-655618dcaf99',
            title: 'Child <b>of</b> cmstp (suggested by purple-harness)',
            sigma: 'detection:\n  selection:\n    CommandLine|contains: " <script>"\n',
            files: ['suggestions/cmstp-local-inf-presetup/WIN10-LAB-01/child-process.yml'],
          },
          queries: {
            spl: 'search index=* (EventCode IN (1))',
            kql: 'Sysmon | where EventID in (1)',
            es: null,
          },
          proof: {
            engine: 'the engine',
            firesOn: ['local:event:1'],
            captured: 2,
            quietOn: { negativeControl: 62, collateral: 50 },
            negativeControls: ['cmstp-negative-control-admin-install on WIN10-LAB-01'],
            otherHosts: { fires: ['WIN10-LAB-02'], silent: ['WIN11-LAB-01'] },
          },
          notes: [],
        },
      ],
      withheld: [
        {
          scenario: 'cmstp-local-inf-presetup',
          host: 'WIN10-LAB-01',
          signal: 'payload-file',
          reason: 'no negative control ran in this run',
        },
      ],
    },
  });

  t.regex(html, /id="suggestions"/);
  t.regex(html, /Fires on 1 of 2 captured event\(s\); quiet on 62 event\(s\) of the negative control/);
  t.true(html.includes('suggestions/cmstp-local-inf-presetup/WIN10-LAB-01/child-process.yml'));
  t.true(html.includes('Child &lt;b&gt;of&lt;/b&gt; cmstp'));
  t.false(html.includes('<script>'));
  t.true(html.includes('Sysmon | where EventID in (1)'));
  t.regex(
    html,
    /also a gap on 2 other host\(s\): fires on the captured events of WIN10-LAB-02; not of WIN11-LAB-01/,
  );
  t.regex(
    html,
    /<code>payload-file<\/code> in cmstp-local-inf-presetup on WIN10-LAB-01: no negative control ran/,
  );
  t.notRegex(render(), /id="suggestions"/, 'no section when nothing was captured but not detected');
});
