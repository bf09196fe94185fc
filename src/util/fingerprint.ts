import { createHash } from 'node:crypto';

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of the SHA-256 of the public key blob. */
export function fingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}
