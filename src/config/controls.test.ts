import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { ValidationError } from '../core/index.js';
import { loadControls } from './controls.js';

test('the default mapping covers NIST SI-4, AU-2, AU-12, ISO 27001 A.8.15 and A.8.16, PCI DSS 10.2 and SOC 2 CC7.2', (t) => {
  const ids = loadControls().map((c) => `${c.framework} ${c.id}`);

  t.deepEqual(ids, [
    'NIST SP 800-53 Rev. 5 SI-4',
    'NIST SP 800-53 Rev. 5 AU-2',
    'NIST SP 800-53 Rev. 5 AU-12',
    'ISO/IEC 27001:2022 A.8.15',
    'ISO/IEC 27001:2022 A.8.16',
    'PCI DSS v4.0 10.2',
    'SOC 2 (2017 TSC) CC7.2',
  ]);
});

test('a mapping with a misspelt key and an unknown signal names each at file:line:col', (t) => {
  const file = join(tempDir(t), 'controls.yaml');
  writeFileSync(
    file,
    [
      'schemaVersion: 1',
      'controls:',
      '  - framework: Internal',
      '    id: MON-1',
      '    title: Monitoring',
      '    basis: detection',
      '    statment: typo',
      '    signals: [cmstp-exe]',
      '',
    ].join('\n'),
  );

  const error = t.throws(() => loadControls(file), { instanceOf: ValidationError });

  const where = error.issues.map((i) => `${String(i.line)}:${String(i.col)}`);
  t.true(where.includes('7:5'), where.join(' '));
  const messages = error.issues.map((i) => `${String(i.line)}: ${i.message}`).join('\n');
  t.regex(messages, /^7: unknown key "statment".*did you mean "statement"/m);
  t.regex(
    messages,
    /^8: controls.0.signals.0: the text "cmstp-exe" is not one of cmstp-exec, .* \(did you mean "cmstp-exec"\?\)$/m,
  );
  t.is(error.category, 'input');
});
