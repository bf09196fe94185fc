import { defineExecutor } from '../../core/index.js';
import { SshExecutorOptions } from './schema.js';

export const sshExecutor = defineExecutor({
  id: 'ssh',
  displayName: 'SSH (Windows OpenSSH)',
  optionsSchema: SshExecutorOptions,
  docs: { summary: 'Windows OpenSSH, PowerShell operations over ssh2', guide: 'docs/lab-setup.md' },
  load: () => import('./executor.js'),
});
