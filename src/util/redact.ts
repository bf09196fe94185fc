/** Replaces every known secret value in text. Values shorter than 4 characters are not treated as secrets. */
export function redact(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.replaceAll(secret, '[REDACTED]');
  }
  return out;
}
