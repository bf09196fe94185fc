import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleRun } from '../../test/contracts/reporter.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { RunIndexRecord, RunRecord, type RunResult } from '../core/index.js';
import { sha256 } from '../util/hash.js';
import { indexEntry } from './history.js';
import { Manifest } from './manifest.js';
import { updateRunIndex, writeReports } from './write.js';
import { verifyBundle } from './verify.js';

/**
 * A minimal bundle: run.json plus the evidence files its index lists, written by the real writer and
 * entered in the run index, as a run publishes it.
 */
function writeRun(
  dir: string,
  runId: string,
  signingKey: ReturnType<typeof generateKeyPairSync>['privateKey'] | null,
  status: RunResult['status'] = 'failed',
) {
  const sample = { ...sampleRun(), runId, status };
  const run = { ...sample, results: sample.results.map((r) => ({ ...r, evidence: [] })) };
  const written = writeReports(
    dir,
    runId,
    [
      { path: 'run.json', content: JSON.stringify(run) },
      { path: 'evidence/x/WIN10-LAB-01/transcript.json', content: '[]\n' },
    ],
    new Set(),
    { harness: 'purple-harness test', signingKey },
  );
  updateRunIndex(dir, indexEntry(run, { manifestSha256: written.manifestSha256, report: null }), () => '');
  return written.dir;
}

/** What someone with write access would do to rewrite an unsigned run: edit run.json, re-hash its manifest. */
function rewrite(dir: string, edit: (run: RunResult) => RunResult): void {
  const run = edit(RunRecord.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))));
  const text = JSON.stringify(run);
  writeFileSync(join(dir, 'run.json'), text);
  const manifest = Manifest.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  const files = manifest.files.map((f) =>
    f.path === 'run.json' ? { ...f, sha256: sha256(text), bytes: Buffer.byteLength(text) } : f,
  );
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
}

test('a signed bundle verifies against the pinned key, and not against another key', (t) => {
  const reports = tempDir(t);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const dir = writeRun(reports, 'run-1', privateKey);

  const pinned = verifyBundle(dir, { publicKey });
  t.true(pinned.ok, pinned.problems.join('\n'));
  t.true(pinned.signature?.pinned);

  const other = generateKeyPairSync('ed25519').publicKey;
  const wrong = verifyBundle(dir, { publicKey: other });
  t.false(wrong.ok);
  t.regex(wrong.problems.join('\n'), /manifest\.sig\.json: signed by SHA256:\S+, not by the pinned key/);
});

test('a manifest edited to match a changed file fails the signature check', (t) => {
  const reports = tempDir(t);
  const { privateKey } = generateKeyPairSync('ed25519');
  const dir = writeRun(reports, 'run-1', privateKey);
  const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
  writeFileSync(
    join(dir, 'manifest.json'),
    manifest.replace('purple-harness test', 'purple-harness tampered'),
  );

  const result = verifyBundle(dir);

  t.false(result.ok);
  t.regex(result.problems.join('\n'), /the Ed25519 signature does not match manifest\.json/);
});

test('an unsigned bundle fails when a key is pinned; each run links to the one before', (t) => {
  const reports = tempDir(t);
  writeRun(reports, 'run-1', null);
  const second = writeRun(reports, 'run-2', null);

  const unsigned = verifyBundle(second, { publicKey: generateKeyPairSync('ed25519').publicKey });
  t.false(unsigned.ok);
  t.regex(
    unsigned.problems.join('\n'),
    /manifest\.sig\.json: missing, but a signature by SHA256:\S+ is required/,
  );
  const chained = verifyBundle(second);
  t.true(chained.ok, chained.problems.join('\n'));
  t.is(chained.chainLength, 1);
});

test('a folder without a manifest is not an evidence bundle', (t) => {
  const result = verifyBundle(tempDir(t));

  t.false(result.ok);
  t.regex(result.problems[0] ?? '', /manifest\.json: missing/);
});

test('#14.10 verify rejects a rewritten earlier run: its run.json and manifest re-hashed to say "passed"', (t) => {
  const reports = tempDir(t);
  const first = writeRun(reports, 'run-1', null);
  writeRun(reports, 'run-2', null);
  rewrite(first, (run) => ({ ...run, status: 'passed' }));

  const result = verifyBundle(first);

  t.false(result.ok);
  const problems = result.problems.join('\n');
  t.regex(
    problems,
    /index\.json: records manifest sha256 \S+ for run run-1, but its manifest\.json hashes to/,
  );
  t.regex(problems, /run run-2, written after this one, chained to a manifest/);
  t.regex(problems, /the entry for run run-1 does not say what its run\.json says/);
});

test('#14.10 verify rejects the newest run rewritten alone, through its index entry', (t) => {
  const reports = tempDir(t);
  const only = writeRun(reports, 'run-1', null);
  rewrite(only, (run) => ({ ...run, status: 'passed' }));

  const result = verifyBundle(only);

  t.false(result.ok);
  t.regex(result.problems.join('\n'), /records manifest sha256 .* \(the run was rewritten\)/);
});

test('#14.10 verify rejects an edited run index (a schema-valid edit of an earlier entry)', (t) => {
  const reports = tempDir(t);
  writeRun(reports, 'run-1', null);
  const second = writeRun(reports, 'run-2', null);
  const file = join(reports, 'index.json');
  const index = RunIndexRecord.parse(JSON.parse(readFileSync(file, 'utf8')));
  // Turn run-1's failed signals into passes: with it, run-2 would not count as a regression.
  const edited = {
    ...index,
    runs: index.runs.map((r) =>
      r.runId === 'run-1'
        ? {
            ...r,
            status: 'passed' as const,
            signals: r.signals.map((s) => ({ ...s, verdict: 'pass' as const })),
          }
        : r,
    ),
  };
  writeFileSync(file, `${JSON.stringify(edited, null, 2)}\n`);

  const result = verifyBundle(second);

  t.false(result.ok);
  t.regex(
    result.problems.join('\n'),
    /the 1 run\(s\) indexed before run run-2 were changed since it was written/,
  );
});

test('#14.10 verify reports a symbolic link added to a bundle', (t) => {
  const reports = tempDir(t);
  const dir = writeRun(reports, 'run-1', null);
  symlinkSync('/etc/hostname', join(dir, 'evidence', 'extra-link'));

  const result = verifyBundle(dir);

  t.false(result.ok);
  t.regex(result.problems.join('\n'), /evidence\/extra-link: a symbolic link/);
});
