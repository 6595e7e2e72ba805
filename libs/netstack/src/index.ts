// @porthole/netstack: a userspace IPv4 / ICMP / TCP stack. The sans-I/O core (NetStack) takes
// packets and a clock; createNetstack() drives it with real timers and hands out TcpSocket
// Duplex streams that node:http and ws accept as sockets. See README.md for what is supported.
export { createNetstack } from './driver/create-netstack.js';
export type { ConnectRequest, ListenOptions, Netstack, NetstackDriverOptions } from './driver/create-netstack.js';
export { createMemoryLink } from './driver/memory-link.js';
export type { MemoryLink } from './driver/memory-link.js';
export { TcpSocket } from './driver/tcp-socket.js';
export type { TcpSocketOptions } from './driver/tcp-socket.js';

export { NetStack, DEFAULT_LIMITS } from './stack/net-stack.js';
export type { NetStackLimits, NetStackOptions, TcpListener } from './stack/net-stack.js';
export type { NetStackStats } from './stack/stats.js';
export { totalDrops } from './stack/stats.js';
export type { NetstackLogger } from './stack/logger.js';

export { TcpConnection } from './tcp/tcp-connection.js';
export type { ConnectOptions, TcpConnectionHandler, TcpState } from './tcp/tcp-types.js';
export { TcpError } from './tcp/tcp-error.js';
export type { TcpErrorCode } from './tcp/tcp-error.js';
export { DEFAULT_TCP_CONFIG } from './tcp/tcp-config.js';
export type { TcpConfig } from './tcp/tcp-config.js';
export type { TcpStats } from './tcp/tcp-host.js';

export { WireError } from './wire/wire-error.js';
export type { DropReason } from './wire/wire-error.js';
export { formatIpv4Address, isIpv4Address, parseIpv4Address } from './wire/ipv4-address.js';
