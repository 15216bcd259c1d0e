export * from './errors.js';
export * from './gate.js';
export * from './license.js';
export * from './limits.js';
export * from './members.js';
export * from './modules.js';
export * from './permissions.js';
export * from './slug.js';
