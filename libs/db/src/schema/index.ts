// The whole drizzle schema, grouped by table family. drizzle-kit reads this file (drizzle.config.ts).
export * from './accounts.js';
export * from './organizations.js';
export * from './enrollment.js';
export * from './devices.js';
export * from './overlay.js';
export * from './access-log.js';
export * from './identities.js';
export * from './links.js';
export * from './webhooks.js';
export * from './cluster.js';
