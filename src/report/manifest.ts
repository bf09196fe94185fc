import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { sha256 } from '../util/hash.js';

/*
 * manifest.json lists every file of a run's report folder with its SHA-256, and the SHA-256 of the
 * previous run's manifest.json, so runs form a hash chain: editing, removing or adding a file, or
 * rewriting history, shows. manifest.sig.json optionally signs manifest.json with Ed25519.
 */

export const manifestFile = 'manifest.json';
export const signatureFile = 'manifest.sig.json';

export const Manifest = z.strictObject({
  manifestVersion: z.literal(1),
  runId: z.string(),
  createdAt: z.string(),
  harness: z.string(),
  algorithm: z.literal('sha256'),
  files: z.array(z.strictObject({ path: z.string(), sha256: z.string(), bytes: z.number() })),
  /** The run written before this one in the same reports folder; null for the first. */
  previous: z.strictObject({ runId: z.string(), sha256: z.string() }).nullable(),
  /**
   * The run index (index.json) as this run found it: its first `entries` runs hash to `sha256` (the index only
   * ever appends), so a later edit of any earlier run's entry shows. Null when there was no index yet.
   */
  index: z.strictObject({ entries: z.number(), sha256: z.string() }).nullable().default(null),
});
export type Manifest = z.infer<typeof Manifest>;

export const Signature = z.strictObject({
  algorithm: z.literal('Ed25519'),
  /** SPKI PEM, so anyone can check the signature; pin it with `verify --public-key`. */
  publicKey: z.string(),
  keyId: z.string(),
  signature: z.string(),
});
export type Signature = z.infer<typeof Signature>;

/** The hash of the index's first `entries` runs, as the manifest records and verify recomputes it. */
export function indexPrefixSha256(runs: readonly unknown[], entries: number): string {
  return sha256(JSON.stringify(runs.slice(0, entries)));
}

export function buildManifest(
  runId: string,
  harness: string,
  files: readonly { path: string; content: string }[],
  previous: Manifest['previous'],
  createdAt: Date,
  index: Manifest['index'] = null,
): string {
  const manifest: Manifest = {
    manifestVersion: 1,
    runId,
    createdAt: createdAt.toISOString(),
    harness,
    algorithm: 'sha256',
    files: files
      .map((f) => ({ path: f.path, sha256: sha256(f.content), bytes: Buffer.byteLength(f.content) }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    previous,
    index,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** `SHA256:<base64>` of the public key's DER, the way SSH shows key fingerprints. */
export function keyId(key: KeyObject): string {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

export function signManifest(manifest: string, privateKey: KeyObject): string {
  const signature: Signature = {
    algorithm: 'Ed25519',
    publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyId(privateKey),
    signature: sign(null, Buffer.from(manifest), privateKey).toString('base64'),
  };
  return `${JSON.stringify(signature, null, 2)}\n`;
}

export function signatureValid(manifest: string, signature: Signature): boolean {
  try {
    const key = createPublicKey(signature.publicKey);
    return (
      key.asymmetricKeyType === 'ed25519' &&
      verify(null, Buffer.from(manifest), key, Buffer.from(signature.signature, 'base64'))
    );
  } catch {
    return false;
  }
}
