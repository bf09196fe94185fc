import type { Publication } from './findings.js';

/**
 * The integrity section's sentences: what proves this report unaltered and how to check it. The manifest
 * cannot hold its own hash, so its hash is named where it is kept: reports/index.json and the next run's
 * manifest. Pure.
 */
export function integrityLines(runId: string, publication: Publication | undefined): string[] {
  const lines = [
    `Every file of run ${runId}, this report included, is listed with its SHA-256 in manifest.json beside it; the manifest's own hash is kept in the reports folder's index.json and in the next run's manifest.`,
  ];
  if (publication === undefined) {
    lines.push(
      'Chain and signature: not known here (this report was re-rendered from run.json; see the original run folder).',
    );
  } else {
    lines.push(
      publication.previous === null
        ? 'Chain: this is the first run in its reports folder, so the chain of manifests starts here.'
        : `Chain: manifest.json links to run ${publication.previous.runId}, whose manifest has SHA-256 ${publication.previous.sha256}.`,
    );
    lines.push(
      publication.signingKeyId === null
        ? 'Signature: not signed (set PURPLE_HARNESS_SIGNING_KEY to sign every run with Ed25519).'
        : `Signature: manifest.json is signed with Ed25519 (manifest.sig.json), key ${publication.signingKeyId}.`,
    );
  }
  lines.push(
    `Check it: npx purple-harness verify reports/${runId} (the run's folder, wherever it is kept; add --public-key FILE to require the signer).`,
  );
  return lines;
}
