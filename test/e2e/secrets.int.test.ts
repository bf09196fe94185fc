import test from 'ava';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulatorInventoryYaml, startLabSimulator } from '../../src/lab/simulator.js';
import { quickScenarios, repoRoot, runCli } from '../helpers/cli.js';
import { startBridgeReceiver } from '../helpers/http-fake.js';
import { reportTexts, tempDir } from '../helpers/tmp.js';

/*
 * Every credential variable of a run gets a secret planted in it: the lab host's password, the SIEM
 * plug-in's credential and the evidence-signing key. The SIEM is hostile: it hands its credential back
 * inside every event and alert, which the bundle keeps raw. None of it may reach stdout, stderr, a report or
 * a bundle file.
 */
test('planted secrets never reach any report, bundle file or output, even when the SIEM echoes them back', async (t) => {
  const cwd = tempDir(t);
  const events = join(cwd, 'bridge-events.jsonl');
  const { url, close } = await startBridgeReceiver(events);
  // Made of the characters each output escapes its own way (JSON, HTML, XML, Markdown, URL), ending like a
  // base64 key. The random core survives every escaping unchanged, so finding it anywhere is a leak in
  // whatever encoding it took.
  const labCore = randomBytes(12).toString('hex');
  const siemCore = randomBytes(12).toString('hex');
  const labPassword = `lab-"\\<>&'=${labCore}==`;
  const siemPassword = `siem-"\\<>&'=|\`${siemCore}==`;
  const lab = await startLabSimulator({
    password: labPassword,
    hec: { url, token: 'bridge-token-0123456789' },
  });
  t.teardown(async () => {
    await lab.close();
    await close();
  });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyBody = pem.split('\n')[1] ?? '';
  writeFileSync(
    join(cwd, 'harness.yaml'),
    [
      ...simulatorInventoryYaml(lab, { passwordEnv: 'LAB_PASSWORD' }),
      'siem:',
      '  type: command',
      `  command: ["${process.execPath}", "${join(repoRoot, 'dist', 'test', 'fixtures', 'siem-command-plugin.js')}"]`,
      '  passEnv: [FAKE_SIEM_FILE, FAKE_SIEM_PASSWORD, FAKE_SIEM_MODE]',
      '  name: hostile-bridge',
      'reports:',
      '  dir: out',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(cwd, '.env'),
    [`PURPLE_HARNESS_SIGNING_KEY="${pem.replaceAll('\n', '\\n')}"`, ''].join('\n'),
  );
  const [scenario] = quickScenarios(cwd, ['cmstp-local-inf-presetup.yaml']);

  // The passwords come from the environment (the signing key from .env): dotenv has no quoting for a value
  // holding both quote characters and a backslash.
  const env = {
    FAKE_SIEM_FILE: events,
    FAKE_SIEM_MODE: 'echo-secret',
    LAB_PASSWORD: labPassword,
    FAKE_SIEM_PASSWORD: siemPassword,
  };
  const result = await runCli(['run', scenario ?? '', '--config', 'harness.yaml', '--debug'], { cwd, env });

  // The bridge alerts only on cmstp.exe starts, so the run fails honestly (exit 1); what matters is where
  // the secrets went.
  t.true([0, 1].includes(result.exitCode), result.stderr);
  // Every other command, with the same environment, in the same folder.
  const others = [
    ['plan', '--config', 'harness.yaml'],
    ['plan', '--config', 'harness.yaml', '--json'],
    ['doctor', '--config', 'harness.yaml', '--json'],
    ['history', '--reports-dir', 'out'],
    ['verify', join('out', 'latest'), '--json'],
    ['report', join('out', 'latest'), '--out', 'rerendered'],
    ['validate', scenario ?? ''],
    ['render', scenario ?? ''],
    ['signals', '--siem', 'splunk'],
  ];
  const outputs: string[] = [];
  for (const args of others) {
    const other = await runCli(args, { cwd, env });
    outputs.push(other.stdout, other.stderr);
  }
  const texts = [
    result.stdout,
    result.stderr,
    ...outputs,
    ...reportTexts(join(cwd, 'out')),
    ...reportTexts(join(cwd, 'rerendered')),
  ];
  t.true(texts.length >= 15, `only ${String(texts.length)} outputs and files were read`);
  // The hostile SIEM's echo did reach the bundle, redacted: the test would see a leak if there were one.
  t.true(texts.some((text) => text.includes('queried as [REDACTED]')));
  const base64 = (s: string) => Buffer.from(s).toString('base64').replace(/=+$/, '');
  for (const text of texts) {
    t.false(text.includes(labCore), 'lab password leaked (in some encoding)');
    t.false(text.includes(siemCore), 'SIEM credential leaked (in some encoding)');
    t.false(
      text.includes(base64(labPassword)) || text.includes(base64(siemPassword)),
      'a password leaked as base64',
    );
    t.false(text.includes(keyBody), 'signing key leaked');
  }
  t.regex(readFileSync(join(cwd, 'out', 'latest', 'manifest.sig.json'), 'utf8'), /"algorithm": "Ed25519"/);
});
