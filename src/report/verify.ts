import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { RunRecord, type RunIndex, type RunResult } from '../core/index.js';
import { indexEntry } from './history.js';
import { indexFile, readRunIndex } from './write.js';
import { sha256 } from '../util/hash.js';
import {
  indexPrefixSha256,
  keyId,
  Manifest,
  manifestFile,
  Signature,
  signatureFile,
  signatureValid,
} from './manifest.js';

export interface VerifyResult {
  readonly ok: boolean;
  /** Each problem names the file it is about. */
  readonly problems: readonly string[];
  readonly files: number;
  readonly signature: { readonly keyId: string; readonly pinned: boolean } | null;
  /** How many earlier runs' manifests were checked through the chain. */
  readonly chainLength: number;
}

export interface VerifyOptions {
  /** Require a signature by this key. */
  readonly publicKey?: KeyObject;
  /** Follow `previous` links back through the reports folder (default true). */
  readonly chain?: boolean;
}

function listFiles(dir: string): { files: string[]; links: string[] } {
  const entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  const path = (entry: (typeof entries)[number]): string =>
    relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/');
  return {
    files: entries.filter((entry) => entry.isFile()).map(path),
    // The writer never makes a link inside a bundle: one there points the reader at bytes nobody hashed.
    links: entries.filter((entry) => entry.isSymbolicLink()).map(path),
  };
}

function readManifest(dir: string, problems: string[]): { text: string; manifest: Manifest } | null {
  const file = join(dir, manifestFile);
  if (!existsSync(file)) {
    problems.push(`${file}: missing; this folder is not an evidence bundle, or its manifest was removed`);
    return null;
  }
  const text = readFileSync(file, 'utf8');
  try {
    return { text, manifest: Manifest.parse(JSON.parse(text)) };
  } catch {
    problems.push(`${file}: not a purple-harness manifest (unreadable JSON or unknown fields)`);
    return null;
  }
}

/**
 * Checks a run's report folder against its manifest: every listed file present with its SHA-256, nothing
 * unlisted, the signature (if any, and required if a key is pinned), run.json's evidence index, and the hash
 * chain back through earlier runs in the same reports folder. Reads only.
 */
export function verifyBundle(runDir: string, options: VerifyOptions = {}): VerifyResult {
  const dir = resolve(runDir);
  const problems: string[] = [];
  const read = readManifest(dir, problems);
  if (read === null) return { ok: false, problems, files: 0, signature: null, chainLength: 0 };
  const { text, manifest } = read;

  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const entry of manifest.files) {
    const file = join(dir, entry.path);
    if (!existsSync(file)) {
      problems.push(`${entry.path}: missing (listed in the manifest)`);
      continue;
    }
    const actual = sha256(readFileSync(file));
    if (actual !== entry.sha256)
      problems.push(`${entry.path}: changed (sha256 ${actual}, the manifest says ${entry.sha256})`);
  }
  const found = listFiles(dir);
  for (const path of found.files) {
    if (path === manifestFile || path === signatureFile) continue;
    if (!listed.has(path)) problems.push(`${path}: not in the manifest (added after the run)`);
  }
  for (const path of found.links)
    problems.push(`${path}: a symbolic link, which no evidence bundle contains (added after the run)`);

  // run.json's own evidence index must agree with the manifest: the report and the bundle are one record.
  const runJson = listed.get('run.json');
  let run: RunResult | null = null;
  if (runJson === undefined) problems.push('run.json: not in the manifest');
  else if (existsSync(join(dir, 'run.json'))) {
    try {
      run = RunRecord.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
      if (run.runId !== manifest.runId)
        problems.push(`run.json: run ${run.runId}, but the manifest is for run ${manifest.runId}`);
      for (const entry of run.results.flatMap((r) => r.evidence)) {
        const inManifest = listed.get(entry.path);
        if (inManifest?.sha256 !== entry.sha256)
          problems.push(`${entry.path}: run.json's evidence index and the manifest disagree`);
      }
    } catch {
      problems.push('run.json: does not match the run.json schema (schema/run.schema.json)');
    }
  }

  let signature: VerifyResult['signature'] = null;
  const sigFile = join(dir, signatureFile);
  if (existsSync(sigFile)) {
    try {
      const parsed = Signature.parse(JSON.parse(readFileSync(sigFile, 'utf8')));
      const signer = keyId(createPublicKey(parsed.publicKey));
      signature = { keyId: signer, pinned: options.publicKey !== undefined };
      if (!signatureValid(text, parsed))
        problems.push(`${signatureFile}: the Ed25519 signature does not match manifest.json`);
      if (signer !== parsed.keyId) problems.push(`${signatureFile}: keyId does not match its public key`);
      if (options.publicKey && keyId(options.publicKey) !== signer)
        problems.push(
          `${signatureFile}: signed by ${signer}, not by the pinned key ${keyId(options.publicKey)}`,
        );
    } catch {
      problems.push(`${signatureFile}: unreadable`);
    }
  } else if (options.publicKey) {
    problems.push(`${signatureFile}: missing, but a signature by ${keyId(options.publicKey)} is required`);
  }

  let chainLength = 0;
  if (options.chain !== false) {
    const root = dirname(dir);
    const manifestSha256 = sha256(text);
    problems.push(...againstIndex(root, manifest, manifestSha256, run));
    problems.push(...againstSuccessors(root, manifest.runId, manifestSha256));
    const seen = new Set([manifest.runId]);
    for (let link = manifest.previous; link !== null;) {
      const file = join(root, link.runId, manifestFile);
      if (seen.has(link.runId)) {
        problems.push(`${file}: the chain loops back to run ${link.runId}`);
        break;
      }
      seen.add(link.runId);
      if (!existsSync(file)) {
        problems.push(
          `${file}: missing, so the chain breaks at run ${link.runId} (restore it, or pass --no-chain to check this run alone)`,
        );
        break;
      }
      const bytes = readFileSync(file);
      if (sha256(bytes) !== link.sha256) {
        problems.push(`${file}: changed since the next run chained to it (the chain is broken)`);
        break;
      }
      chainLength += 1;
      try {
        link = Manifest.parse(JSON.parse(bytes.toString('utf8'))).previous;
      } catch {
        problems.push(`${file}: not a purple-harness manifest`);
        break;
      }
    }
  }
  return { ok: problems.length === 0, problems, files: manifest.files.length, signature, chainLength };
}

/**
 * The run index (reports/index.json) decides regressions, so it must agree with the bundle: the run's entry
 * names this manifest and says what run.json says, and the entries that existed when the run was written
 * still hash to what its manifest recorded.
 */
function againstIndex(
  root: string,
  manifest: Manifest,
  manifestSha256: string,
  run: RunResult | null,
): string[] {
  const file = join(root, indexFile);
  if (!existsSync(file))
    return [
      `${file}: missing, so the run cannot be checked against the run index (pass --no-chain to check this run alone)`,
    ];
  let runs: RunIndex['runs'];
  try {
    runs = readRunIndex(root).runs;
  } catch {
    return [`${file}: not a purple-harness run index`];
  }
  const problems: string[] = [];
  const entry = runs.find((r) => r.runId === manifest.runId);
  if (entry === undefined) problems.push(`${file}: has no entry for run ${manifest.runId}`);
  else {
    if (entry.manifestSha256 !== manifestSha256)
      problems.push(
        `${file}: records manifest sha256 ${String(entry.manifestSha256)} for run ${manifest.runId}, but its manifest.json hashes to ${manifestSha256} (the run was rewritten)`,
      );
    if (run !== null) {
      const expected = indexEntry(run, { manifestSha256: entry.manifestSha256, report: entry.report });
      if (JSON.stringify(expected) !== JSON.stringify(entry))
        problems.push(
          `${file}: the entry for run ${manifest.runId} does not say what its run.json says (edited)`,
        );
    }
  }
  const recorded = manifest.index;
  if (recorded !== null && indexPrefixSha256(runs, recorded.entries) !== recorded.sha256)
    problems.push(
      `${file}: the ${String(recorded.entries)} run(s) indexed before run ${manifest.runId} were changed since it was written`,
    );
  return problems;
}

/** Every later run in the folder that chained to this one must still find the manifest it hashed. */
function againstSuccessors(root: string, runId: string, manifestSha256: string): string[] {
  const problems: string[] = [];
  for (const folder of readdirSync(root, { withFileTypes: true })) {
    if (!folder.isDirectory() || folder.name === runId) continue;
    const file = join(root, folder.name, manifestFile);
    if (!existsSync(file)) continue;
    let previous: Manifest['previous'];
    try {
      previous = Manifest.parse(JSON.parse(readFileSync(file, 'utf8'))).previous;
    } catch {
      continue;
    }
    if (previous?.runId === runId && previous.sha256 !== manifestSha256)
      problems.push(
        `${manifestFile}: run ${folder.name}, written after this one, chained to a manifest with sha256 ${previous.sha256}; this one hashes to ${manifestSha256} (the run was rewritten)`,
      );
  }
  return problems;
}
