import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HarnessError } from '../core/index.js';
import type { Env } from './load.js';

/** The variable that holds the Ed25519 key that signs each run's manifest (PEM, or base64 PKCS#8 DER). */
export const signingKeyEnv = 'PURPLE_HARNESS_SIGNING_KEY';

/**
 * The evidence-signing key, from the environment or .env only; null when none is set. Its text is added to
 * the secrets, so it is redacted everywhere. Never echoes the value when it cannot be read.
 */
export function signingKeyFrom(env: Env, secrets: Set<string>): KeyObject | null {
  const raw = env[signingKeyEnv];
  if (raw === undefined || raw.trim() === '') return null;
  // A PEM pasted into one line of .env keeps its line breaks as "\n".
  const text = raw.includes('\\n') ? raw.replaceAll('\\n', '\n') : raw;
  secrets.add(raw);
  secrets.add(text);
  for (const line of text.split('\n'))
    if (line.trim().length >= 16 && !line.startsWith('-----')) secrets.add(line.trim());
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN')
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  } catch {
    throw new HarnessError('E_CONFIG_INVALID', `${signingKeyEnv} does not hold a readable private key`, {
      hint: 'Set it to an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519), or unset it to write unsigned bundles. See docs/evidence.md.',
    });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new HarnessError(
      'E_CONFIG_INVALID',
      `${signingKeyEnv} holds a ${key.asymmetricKeyType ?? 'unknown'} key; evidence is signed with Ed25519`,
      { hint: 'Make one with: openssl genpkey -algorithm ed25519 -out signing-key.pem' },
    );
  return key;
}

/** A public key to pin for `verify --public-key FILE` (PEM; a private key file gives its public half). */
export function publicKeyFile(file: string): KeyObject {
  try {
    return createPublicKey(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HarnessError('E_USAGE', `${file}: not a readable public key`, {
      hint: 'Pass the PEM public key that signs your evidence (openssl pkey -in signing-key.pem -pubout).',
      cause: error,
    });
  }
}
