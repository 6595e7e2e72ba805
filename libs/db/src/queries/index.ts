export * from './tunnel-ips.js';
export * from './peer-changes.js';
