export * from './context.js';
export * from './define.js';
export * from './errors.js';
export * from './plugins.js';
export * from './scenario-model.js';
export * from './signal-model.js';
export * from './types.js';
export * from './canary.js';
