import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleRun } from '../../test/contracts/reporter.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { writeReports } from './write.js';
import { verifyBundle } from './verify.js';

/** A minimal bundle: run.json plus the evidence files its index lists, written by the real writer. */
function writeRun(
  dir: string,
  runId: string,
  signingKey: ReturnType<typeof generateKeyPairSync>['privateKey'] | null,
) {
  const run = { ...sampleRun(), runId };
  return writeReports(
    dir,
    runId,
    [
      {
        path: 'run.json',
        content: JSON.stringify({ ...run, results: run.results.map((r) => ({ ...r, evidence: [] })) }),
      },
      { path: 'evidence/x/WIN10-LAB-01/transcript.json', content: '[]\n' },
    ],
    new Set(),
    { harness: 'purple-harness test', signingKey },
  ).dir;
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
