// @porthole/datagram-transport: what the hub and the agent share to carry WireGuard datagrams where
// plain UDP does not get through — SOCKS5 UDP framing, the WebSocket carrier's constants, an HTTP
// CONNECT client and a token bucket. No dependencies on the rest of the repository.
export * from './socks5-udp.js';
export * from './websocket-datagram.js';
export { TokenBucket } from './token-bucket.js';
export { httpConnect, HttpConnectError, formatConnectRequest, parseConnectStatus, connectAuthority, type HttpConnectOptions } from './http-connect.js';
