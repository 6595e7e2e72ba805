// @porthole/wireguard/testing: fakes and helpers that tests of this package and of its users need
// (as wireguard-go ships bindtest): two devices on a fake clock and wire, in-memory binds, a
// stdio-driven peer process for namespaces, flood initiations, seeded randomness.
import { fileURLToPath } from 'node:url';

export { TestPair, ipv4Packet, A_ENDPOINT, B_ENDPOINT, A_TUNNEL, B_TUNNEL, type PairOptions, type Side, type WireDatagram } from './device-pair.js';
export { MemoryBind, MemoryNetwork, createMemoryBindPair, type MemoryFilter } from './memory-bind.js';
export { bogusInitiations } from './flood.js';
export { hex, unhex, seededRandom, seededBytes, testSeed } from './seeded.js';

/** Path of the stdio peer script (run it with tsx, e.g. inside a namespace); see its header. */
export const STDIO_PEER_SCRIPT = fileURLToPath(new URL('./stdio-peer.ts', import.meta.url));
