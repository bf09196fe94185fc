import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../core/index.js';
import { loadConfigFile } from './load.js';
import { siemConnectors } from '../siem/registry.js';

const host = (name: string, port: number, address = '127.0.0.1') =>
  `    - name: ${name}\n      address: ${address}\n      port: ${String(port)}\n      username: lab\n      passwordEnv: LAB_PASSWORD\n      lab: true\n`;

function refused(t: ExecutionContext, yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'purple-harness-config-')), 'harness.yaml');
  writeFileSync(file, yaml);
  const error = t.throws(() => loadConfigFile(file), { instanceOf: ValidationError });
  return error.message.replaceAll(file, 'harness.yaml');
}

test('#14.4 duplicate inventory host names are refused with the line of the second one', (t) => {
  const message = refused(t, `lab:\n  hosts:\n${host('WIN10-LAB-01', 2201)}${host('win10-lab-01', 2202)}`);
  t.regex(
    message,
    /harness\.yaml:9:13: lab\.hosts\.1\.name: host name "win10-lab-01" is already used by hosts\[0\]/,
  );
});

test('#14.4 one address and port listed twice under two names is refused', (t) => {
  const message = refused(t, `lab:\n  hosts:\n${host('A', 2201)}${host('B', 2201)}`);
  t.regex(
    message,
    /harness\.yaml:10:16: lab\.hosts\.1\.address: 127\.0\.0\.1 port 2201 is already hosts\[0\]/,
  );
});

test('#14.13 a host name with `..` (or a leading or trailing dot) is refused by the config, not by the writer later', (t) => {
  for (const name of ['WIN..LAB', '..', 'WIN.', '.WIN', 'WIN-', 'a/b']) {
    const message = refused(t, `lab:\n  hosts:\n${host(`"${name}"`, 2201)}`);
    t.regex(message, /harness\.yaml:3:\d+: .*host name/, name);
  }
});

test('#18 a value of the wrong type is named at its own line with the fix, never as a missing key', (t) => {
  const message = refused(
    t,
    `lab:\n  hosts:\n${host('A', 2201).replace('port: 2201', 'port: "twenty"')}siem:\n  type: splunkk\n`,
  );

  t.regex(
    message,
    /harness\.yaml:5:13: lab\.hosts\.0\.port: must be a number, but is the text "twenty" \(write it as digits, unquoted\)/,
  );
  t.regex(
    message,
    new RegExp(
      `harness\\.yaml:10:9: siem\\.type: the text "splunkk" is not one of ${Object.keys(siemConnectors).join(', ')} \\(did you mean "splunk"\\?\\)`,
    ),
  );
  t.notRegex(message, /missing required key "port"|Invalid (discriminator|input|option)/);
});
