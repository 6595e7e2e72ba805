// What the Remote access page and `status.json` show: one snapshot built from the phase, the
// tunnel supervisor, the state file and the clock. Read-only: nothing here changes the agent.
import type { JournalEntry } from '@porthole/device-control';
import type { ClockProblem } from './clock/handshake-clock.js';
import type { ExposureStatus } from './exposure/exposure-manager.js';
import type { ExposedPort } from './config.js';
import type { FlowState } from './flow/phase.js';
import type { AgentState } from './state/state-store.js';
import { describeProxy, type NetworkSettings, type ProxyKind } from './transport/network-settings.js';
import type { SupervisorStatus } from './tunnel/supervisor.js';

export type AgentPhase = 'off' | 'waiting-approval' | 'registering' | 'connecting' | 'online';

export interface AgentStatus {
  phase: AgentPhase;
  serial: string;
  enabled: boolean;
  registered: boolean;
  publicUrl: string | undefined;
  tunnelIp: string | undefined;
  onlineSinceMs: number | undefined;
  lastHandshakeAtMs: number | undefined;
  /** The hub node's WireGuard endpoint the tunnel dials ("203.0.113.5:51820"), while a tunnel exists. */
  hubEndpoint?: string | undefined;
  /** "WireGuard/UDP to 203.0.113.5:51820" while a tunnel exists. */
  transport: string | undefined;
  /** Why that transport (e.g. "no WireGuard handshake over UDP within 6 s"), and carrier problems. */
  transportReason: string | undefined;
  transportProblems: string[];
  /** Proxy and transport mode in force, without the proxy password. */
  network: NetworkStatus;
  claim: { userCode: string; verificationUriComplete: string; expiresAtMs: number } | undefined;
  lastError: string | undefined;
  nextRetryAtMs: number | undefined;
  clockProblems: ClockProblem[];
  target: string;
  exposed: ExposedPort[];
  /** For an HTTPS target: the pinned certificate and a refused new one awaiting the owner. */
  certificate: { origin: string; pinned: string | undefined; pending: { fingerprint: string; seenAt: string } | undefined } | undefined;
  /** The owner's exposure window and the choices Enable offers. */
  exposure: ExposureStatus;
  /** The access journal, newest first: who came in through the hub, when, from where, what. */
  journal: JournalEntry[];
}

export interface NetworkStatus {
  /** Where the settings come from: the command line / environment, or the Remote access page. */
  source: 'command line' | 'this page';
  transport: NetworkSettings['transport'];
  proxy: { kind: ProxyKind; host: string; port: number; username: string | undefined; hasPassword: boolean; text: string } | undefined;
}

export interface StatusInputs {
  flow: FlowState;
  supervisor: SupervisorStatus;
  state: Readonly<AgentState>;
  serial: string;
  registered: boolean;
  network: NetworkSettings;
  clockProblems: ClockProblem[];
  target: URL;
  exposed: ExposedPort[];
  /** The HTTPS target's origin whose certificate is pinned; undefined for an HTTP target. */
  pinOrigin: string | undefined;
  exposure: ExposureStatus;
  journal: JournalEntry[];
}

/** The page's phase: the flow's own, or for the tunnel phase what the supervisor reports. */
export function pagePhase(flow: FlowState, sup: SupervisorStatus): AgentPhase {
  switch (flow.phase.name) {
    case 'waiting-approval':
    case 'registering':
      return flow.phase.name;
    case 'tunnel':
      if (sup.state === 'online') return 'online';
      return sup.state === 'stopped' ? 'off' : 'connecting';
    case 'off':
      return 'off';
  }
}

export function buildStatus(i: StatusInputs): AgentStatus {
  const sup = i.supervisor;
  const reg = i.registered ? i.state.registration : null;
  const claim = i.flow.phase.name === 'waiting-approval' ? i.flow.phase.claim : undefined;
  const stopped = sup.state === 'stopped';
  return {
    phase: pagePhase(i.flow, sup),
    serial: i.serial,
    enabled: i.state.enabled,
    registered: reg !== null,
    publicUrl: reg?.url,
    tunnelIp: reg?.tunnelIp,
    onlineSinceMs: sup.onlineSinceMs,
    lastHandshakeAtMs: sup.lastHandshakeAtMs,
    hubEndpoint: stopped ? undefined : sup.endpoint,
    transport: stopped || !sup.endpoint ? undefined : (sup.transport?.description ?? `WireGuard/UDP to ${sup.endpoint}`),
    transportReason: stopped ? undefined : sup.transport?.reason,
    transportProblems: stopped ? [] : (sup.transport?.problems ?? []),
    network: networkStatus(i.network, i.state.network !== undefined),
    claim: claim && { userCode: claim.userCode, verificationUriComplete: claim.verificationUriComplete, expiresAtMs: claim.expiresAtMs },
    lastError: i.flow.lastError ?? (sup.state === 'backoff' ? sup.lastError : undefined),
    nextRetryAtMs: sup.nextRetryAtMs,
    clockProblems: i.clockProblems,
    target: i.target.origin,
    exposed: i.exposed,
    certificate: i.pinOrigin ? { origin: i.pinOrigin, pinned: i.state.pins[i.pinOrigin], pending: i.state.pendingPins[i.pinOrigin] } : undefined,
    exposure: i.exposure,
    journal: i.journal,
  };
}

function networkStatus(n: NetworkSettings, fromPage: boolean): NetworkStatus {
  const p = n.proxy;
  return {
    source: fromPage ? 'this page' : 'command line',
    transport: n.transport,
    proxy: p ? { kind: p.kind, host: p.host, port: p.port, username: p.username, hasPassword: p.password !== undefined, text: describeProxy(p) } : undefined,
  };
}
