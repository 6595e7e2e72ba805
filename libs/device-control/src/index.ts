// @porthole/device-control: the control channel between the hub and a device agent over the
// WireGuard overlay (see README.md): the reserved port, the message schemas both ends validate,
// and a small HTTP/1.1 client and server for it that run over any Duplex (netstack sockets).
export * from './messages.js';
export { postControl, type ControlReply } from './client.js';
export { createControlServer, route, type ControlServer, type ControlHandlers, type ControlRequest, type ControlServerOptions } from './server.js';
