import type { ExecutorDefinition } from '../core/index.js';
import { sshExecutor } from './ssh/index.js';

export const executors = { ssh: sshExecutor } satisfies Record<string, ExecutorDefinition>;
export type ExecutorId = keyof typeof executors;
