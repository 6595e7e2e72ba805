export * from './db-errors.js';
export * from './database.js';
export * from './migrate.js';
export * from './schema/index.js';
export * from './queries/index.js';
export * from './copy.js';
