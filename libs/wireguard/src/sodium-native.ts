// sodium-native (libsodium), loaded for the transport and handshake AEAD (aead.ts) and for X25519
// (x25519.ts) where it is installed beside this code and has a prebuild for the platform (32-bit
// ARM Linux has none; a bundle may ship without it). Each user checks the functions it takes
// against known answers before trusting them, and falls back to node:crypto otherwise.
// A namespace import: a bundle's banner commonly declares its own `createRequire` (scripts/build-agent.ts).
import * as nodeModule from 'node:module';

/** The sodium-native module typed as the caller uses it, or undefined where it cannot load. */
export function requireSodiumNative<T>(): T | undefined {
  try {
    return nodeModule.createRequire(import.meta.url)('sodium-native') as T;
  } catch {
    return undefined; // no prebuild for this platform, or not installed beside this code
  }
}
