import test from 'ava';
import XMLBuilder from 'fast-xml-builder';
import Handlebars from 'handlebars';
import { markdownText } from './escape.js';
import { redact } from './redact.js';

// The characters that escape differently in every output format, and a base64 key's `==` ending.
const secret = `pw"\\<>&'=|\`sekret-7f3a9c==`;
const secrets = new Set([secret]);

/** The secret as each real encoder writes it; none of these is our own code but the Markdown reporter's. */
const encoded: Record<string, string> = {
  raw: `before ${secret} after`,
  json: JSON.stringify({ note: `before ${secret} after` }),
  'json twice': JSON.stringify({ raw: JSON.stringify({ note: secret }) }),
  'handlebars html': Handlebars.compile('<td>{{v}}</td>')({ v: secret }),
  'xml (fast-xml-builder)': new XMLBuilder({ ignoreAttributes: false, format: false }).build({
    a: { '@_v': secret, '#text': secret },
  }),
  markdown: markdownText(`| ${secret} |`),
  url: `https://siem.lab/api?token=${encodeURIComponent(secret)}`,
  form: new URLSearchParams({ password: secret }).toString(),
  base64: Buffer.from(secret).toString('base64'),
  'basic auth header': `Basic ${Buffer.from(`admin:${secret}`).toString('base64')}`,
  'encoded powershell (utf-16le, any offset)': Buffer.from(
    `$PhPassword = '${secret}'; Write-Output ok`,
    'utf16le',
  ).toString('base64'),
};

for (const [name, text] of Object.entries(encoded)) {
  test(`#14.11 a secret with " \\ < > & ' = and == is redacted from its ${name} form`, (t) => {
    // The form really does differ from the raw text, except where the encoder keeps it raw.
    const out = redact(text, secrets);
    t.true(out.includes('[REDACTED]'), out);
    t.false(out.includes('sekret-7f3a9c'), out);
    // A base64 form leaks no more than a character or two at each edge of the secret's bytes.
    const stillEncoded = Buffer.from(out.replace(/^Basic /, ''), 'base64').toString('utf8');
    t.false(stillEncoded.includes('sekret'), stillEncoded);
    t.false(Buffer.from(out, 'base64').toString('utf16le').includes('sekret'));
  });
}

test('text without a secret is left alone', (t) => {
  const text = JSON.stringify({
    note: 'nothing to hide here',
    b64: Buffer.from('hello world').toString('base64'),
  });
  t.is(redact(text, secrets), text);
});
