// @porthole/agent as a library: build an agent, mount its "Remote access" page in a device's own
// web server, or run it with a fake tunnel in tests.
export { createAgent, type Agent, type AgentDeps, type AgentStatus, type AgentPhase, type EnableResult } from './agent.js';
export { attest, loadDeviceCredential, type Attestation, type DeviceCredential } from './attestation.js';
export { loadAgentConfig, usage, type AgentConfig, type ExposedPort, type ConfigResult } from './config.js';
export { StateStore, StateLoadError, type AgentState } from './state/state-store.js';
export { writeFileAtomicSync } from './state/atomic-file.js';
export { createRemoteAccessRoutes, createRemoteAccessHandler, type RemoteAccessOptions } from './web/remote-access-routes.js';
export type { PageFrame } from './web/remote-access-page.js';
export { JournalStore, MAX_JOURNAL_ENTRIES } from './journal/journal-store.js';
export { WINDOW_CHOICES, allowedWindows } from './exposure/exposure-window.js';
export type { ExposureStatus } from './exposure/exposure-manager.js';
export { createLogger, silentLogger, memoryLogger, type Logger, type LogLevel } from './log/logger.js';
export { RotatingFile } from './log/rotating-file.js';
export { HandshakeClock, type ClockProblem } from './clock/handshake-clock.js';
export type { Tunnel, TunnelFactory, TunnelParams, TunnelEvent, TunnelInfo } from './tunnel/tunnel.js';
export { createFakeTunnelNetwork, FakeTunnel, type FakeTunnelNetwork } from './testing/fake-tunnel.js';
export { realTimers, type Timers } from './timers.js';
export type { Registration } from './registration.js';
export { AGENT_VERSION } from './version.js';
export { CsrfTokens, PasswordSessions, crossSiteReason, safeEqual } from './web/guard.js';
export { createDefaultTunnelFactory } from './tunnel/default-factory.js';
export { HubError, type FetchLike } from './hub/hub-client.js';
export { createTcpDialer, type TcpDialer } from './transport/proxy-dialer.js';
export { createProxiedFetch } from './transport/proxied-fetch.js';
export { WsClientBind, type WsClientBindOptions } from './transport/ws-client-bind.js';
export {
  DEFAULT_NETWORK,
  parseProxyUrl,
  describeProxy,
  type NetworkSettings,
  type ProxySettings,
  type ProxyKind,
  type TransportMode,
} from './transport/network-settings.js';
export type { NetworkStatus } from './agent.js';
