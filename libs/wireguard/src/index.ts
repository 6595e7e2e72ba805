// @porthole/wireguard: a WireGuard-compatible overlay core (sans-I/O device, UDP bind, runner).
// See README.md for the API, the features and what is not supported.
export * from './keys.js';
export * as constants from './constants.js';
export { WireGuardDevice } from './device.js';
export { formatEndpoint, sameEndpoint, type Endpoint } from './endpoint.js';
export { parseCidr, formatCidr, parseIp, formatIp, type Cidr } from './ip-address.js';
export { tai64nFromUnixMs, tai64nNow, tai64nAfter, tai64nNext, tai64nToUnixMs } from './tai64n.js';
export {
  DROP_REASONS,
  type DropReason,
  type KeyInput,
  type PeerConfig,
  type PeerStatus,
  type PeerUpdate,
  type WireGuardDeviceOptions,
  type WireGuardEvent,
  type WireGuardLogger,
} from './types.js';
export { defaultTransportAead, libsodium, nodeAead, type TransportAead } from './aead.js';
/** X25519 as the device computes it (libsodium or node:crypto), for benchmarks that compare against it. */
export { dh as x25519, generateEphemeral, importPublicKey as importX25519PublicKey, x25519Implementation } from './x25519.js';
export { UdpBind, lookupLiteral, socketAddress, sourceAddress, type Bind, type UdpBindOptions } from './bind.js';
export { startWireGuardNode, type WireGuardNode, type WireGuardNodeOptions } from './node.js';
export { IngressFilter, type IngressFilterOptions } from './ingress-filter.js';
