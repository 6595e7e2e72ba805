export * from './http-wire.js';
