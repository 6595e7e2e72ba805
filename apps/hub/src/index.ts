// @porthole/hub as a library: createHub(deps) builds a whole hub from a validated config (what
// main.ts and the tests do), loadConfig() makes that config from PORTHOLE_* variables and files.
// The HTTP sub-apps, the metric set and the WebSocket datagram carrier are exported for users that
// mount, measure or run one part alone (the fuzzer, the transport labs, the benches).
export { createHub, type Hub, type HubDeps } from './hub.js';
export { ConfigError, describeConfig, loadConfig, type FileReader } from './config/load-config.js';
export type { ConfigInput, HubConfig } from './config/config-schema.js';
export type { Registry } from './registry/index.js';
export {
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  type DomainErrorOptions,
} from './errors.js';
export { singleSignOnFromConfig, type SingleSignOn } from './auth/single-sign-on.js';
export { createHubMetrics, type HubMetrics } from './ops/hub-metrics.js';

export { apiRouteTable, createApiRoutes, type ApiDeps, type ApiLimits } from './api/api-routes.js';
export type { RouteDef } from './api/route-table.js';
export { createPortalRoutes, type PortalDeps } from './portal/portal-routes.js';
export { createTicketStore, type TicketStore } from './proxy/ticket-store.js';

export { CompositeBind } from './transport/composite-bind.js';
/** For webhook receivers: the signature scheme of X-Porthole-Signature. */
export { SIGNATURE_HEADER, signatureHeader, verifySignature } from './webhooks/webhook-signature.js';
export { createWsDatagramTransport, WS_TRANSPORT, type WsDatagramTransport, type WsDatagramTransportOptions } from './transport/ws-datagram-transport.js';
export { tuneHeap } from './ops/heap-tuning.js';
