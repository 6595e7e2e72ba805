// @porthole/wireguard: a WireGuard-compatible overlay core (sans-I/O device, UDP bind, runner).
// See README.md for the API, the features and what is not supported.
export * from './keys.js';
export * as constants from './constants.js';
