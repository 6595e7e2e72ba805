// The agent: one object that owns the state, the claim / enrollment flows, the tunnel supervisor
// and the forwarding from the overlay. `createAgent(deps)` wires it from injected parts so tests run
// it against a fake registry and a fake tunnel; main.ts builds the real thing from the config.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { attest, type DeviceCredential } from './attestation.js';
import type { ExposedPort } from './config.js';
import { HandshakeClock, type ClockProblem } from './clock/handshake-clock.js';
import { createHttpForwarder, type HttpForwarder } from './forward/http-forwarder.js';
import { forwardTcp } from './forward/tcp-forwarder.js';
import { HubClient, HubError, HubUnreachableError, type FetchLike } from './hub/hub-client.js';
import { decodeKey, encodeKey, keyTag, publicKeyFromPrivate } from './keys.js';
import { silentLogger, type Logger } from './log/logger.js';
import { statePinStore } from './pin-store.js';
import type { Registration } from './registration.js';
import type { StateStore } from './state/state-store.js';
import { DEFAULT_NETWORK, describeProxy, type NetworkSettings, type ProxyKind } from './transport/network-settings.js';
import { createProxiedFetch } from './transport/proxied-fetch.js';
import { createTcpDialer } from './transport/proxy-dialer.js';
import { realTimers, type Timers } from './timers.js';
import { backoffDelayMs } from './tunnel/backoff.js';
import { TunnelSupervisor } from './tunnel/supervisor.js';
import type { Tunnel, TunnelFactory } from './tunnel/tunnel.js';
import { AGENT_VERSION } from './version.js';

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
  /** "WireGuard/UDP to 203.0.113.5:51820" while a tunnel exists. */
  transport: string | undefined;
  /** Why that transport (e.g. "no WireGuard handshake over UDP within 6 s"), and carrier problems. */
  transportReason: string | undefined;
  transportProblems: string[];
  /** Proxy and transport mode in force, without the proxy password (issue 9). */
  network: NetworkStatus;
  claim: { userCode: string; verificationUriComplete: string; expiresAtMs: number } | undefined;
  lastError: string | undefined;
  nextRetryAtMs: number | undefined;
  clockProblems: ClockProblem[];
  target: string;
  exposed: ExposedPort[];
  /** For an HTTPS target: the pinned certificate and a refused new one awaiting the owner. */
  certificate: { origin: string; pinned: string | undefined; pending: { fingerprint: string; seenAt: string } | undefined } | undefined;
}

export interface NetworkStatus {
  /** Where the settings come from: the command line / environment, or the Remote access page. */
  source: 'command line' | 'this page';
  transport: NetworkSettings['transport'];
  proxy: { kind: ProxyKind; host: string; port: number; username: string | undefined; hasPassword: boolean; text: string } | undefined;
}

export interface AgentDeps {
  hubUrl: URL;
  serial: string;
  target: URL;
  expose?: ExposedPort[];
  enrollmentToken?: string;
  store: StateStore;
  tunnelFactory: TunnelFactory;
  logger?: Logger;
  fetch?: FetchLike;
  timers?: Timers;
  /** Host name resolution for the hub endpoint (default: DNS). */
  resolve?: (host: string) => Promise<string>;
  buildTimeMs?: number;
  /** Proxy and transport from the command line (issue 9); the page may override them. Default: direct, auto. */
  network?: NetworkSettings;
  /** Device certificate and key: every registration and claim carries an attestation. */
  deviceCredential?: DeviceCredential | undefined;
}

export interface EnableResult {
  /** Where to send the owner's browser: the portal approval page, or undefined when already registered. */
  redirectTo: string | undefined;
}

export interface Agent {
  start(): Promise<void>;
  status(): AgentStatus;
  onChange(listener: (status: AgentStatus) => void): () => void;
  /** "Enable remote access": tunnel up if registered, else start the claim; `returnUrl` = the page to come back to. */
  enable(options: { returnUrl?: string }): Promise<EnableResult>;
  /** "Disable": local teardown at once, no hub contact needed; keeps key and registration. */
  disable(): Promise<void>;
  /** Forget the registration too (the next Enable runs a new claim). Keeps the key. */
  forgetRegistration(): Promise<void>;
  acceptCertificate(fingerprint: string): boolean;
  /** Page override of the network settings (null = back to the command line's); reconnects the tunnel. */
  setNetwork(settings: NetworkSettings | null): Promise<void>;
  network(): NetworkSettings;
  /** Overlay connection handlers, exposed for embedding tests and alternative tunnels. */
  handleOverlayConnection(port: number, socket: Duplex): void;
  close(): Promise<void>;
  readonly publicKey: string;
  readonly clock: HandshakeClock;
}

interface ClaimState {
  userCode: string;
  verificationUriComplete: string;
  pollToken: string;
  expiresAtMs: number;
  intervalMs: number;
  timer: unknown;
}

export function createAgent(deps: AgentDeps): Agent {
  const timers = deps.timers ?? realTimers;
  const logger = (deps.logger ?? silentLogger).child({ component: 'agent', device: deps.serial });
  const store = deps.store;
  const expose = deps.expose ?? [];
  const privateKey = decodeKey(store.state.privateKey);
  const publicKey = encodeKey(publicKeyFromPrivate(privateKey));
  const clock = new HandshakeClock({
    now: timers.now,
    buildTimeMs: deps.buildTimeMs,
    store: {
      lastTai64n: () => store.state.lastTai64n,
      saveTai64n: (hex) =>
        store.update((s) => {
          s.lastTai64n = hex;
        }),
    },
  });
  // The proxy can change from the page at any time: API calls pick the current one per request.
  const network = (): NetworkSettings => store.state.network ?? deps.network ?? DEFAULT_NETWORK;
  let proxiedFetch: { key: string; fetch: FetchLike } | undefined;
  const currentFetch = (): FetchLike => {
    if (deps.fetch) return deps.fetch;
    const proxy = network().proxy;
    if (!proxy) return (input, init) => fetch(input, init);
    const key = JSON.stringify(proxy);
    if (proxiedFetch?.key !== key) proxiedFetch = { key, fetch: createProxiedFetch(createTcpDialer(proxy)) };
    return proxiedFetch.fetch;
  };
  const hub = new HubClient({ hubUrl: deps.hubUrl, fetch: (input, init) => currentFetch()(input, init), onDate: (d) => clock.observeHubDate(d, timers.now()) });
  /** DNS for the UDP endpoint; behind a proxy a site may have none, and the WebSocket carrier needs none. */
  const resolveHub = async (host: string): Promise<string> => {
    try {
      if (deps.resolve) return await deps.resolve(host);
      if (isIP(host)) return host;
      return (await lookup(host, { family: 0, order: 'ipv4first' })).address;
    } catch (err) {
      const n = network();
      if (n.proxy || n.transport === 'websocket') return host;
      throw err;
    }
  };
  const pins = statePinStore(store, timers.now);
  /** Proves the serial to hubs with a device CA; hubs without one ignore it. */
  const attestation = () => (deps.deviceCredential ? { attestation: attest(deps.deviceCredential, deps.serial, publicKey) } : {});
  const pinOrigin =
    deps.target.protocol === 'https:' ? `https://${deps.target.hostname}:${deps.target.port || '443'}` : undefined;

  const listeners = new Set<(s: AgentStatus) => void>();
  let claim: ClaimState | undefined;
  let registering = false;
  let registerTimer: unknown;
  let lastError: string | undefined;
  let closed = false;

  const registration = (): Registration | undefined => {
    const r = store.state.registration;
    return r && r.serial === deps.serial ? r : undefined;
  };

  const forwarder: HttpForwarder = createHttpForwarder({
    target: deps.target,
    publicUrl: () => registration()?.url,
    pins,
    logger,
  });

  const handleOverlayConnection = (port: number, socket: Duplex): void => {
    if (port === 80) return forwarder.handle(socket);
    const e = expose.find((x) => x.port === port);
    if (e) return forwardTcp(socket, { host: e.host, port: e.targetPort }, logger);
    socket.destroy();
  };

  const supervisor = new TunnelSupervisor({
    factory: deps.tunnelFactory,
    timers,
    logger,
    resolve: resolveHub,
    params: () => ({
      privateKey,
      registration: registration()!,
      tai64n: () => clock.tai64n(),
      logger: logger.child({ component: 'tunnel' }),
      network: network(),
      hubUrl: deps.hubUrl,
    }),
    onTunnel: (tunnel: Tunnel) => {
      tunnel.listen(80, (s) => handleOverlayConnection(80, s));
      for (const e of expose) tunnel.listen(e.port, (s) => handleOverlayConnection(e.port, s));
    },
    onChange: () => notify(),
  });

  const status = (): AgentStatus => {
    const sup = supervisor.status();
    const reg = registration();
    let phase: AgentPhase = 'off';
    if (claim) phase = 'waiting-approval';
    else if (registering) phase = 'registering';
    else if (sup.state === 'online') phase = 'online';
    else if (sup.state === 'connecting' || sup.state === 'backoff') phase = 'connecting';
    return {
      phase,
      serial: deps.serial,
      enabled: store.state.enabled,
      registered: reg !== undefined,
      publicUrl: reg?.url,
      tunnelIp: reg?.tunnelIp,
      onlineSinceMs: sup.onlineSinceMs,
      lastHandshakeAtMs: sup.lastHandshakeAtMs,
      transport: sup.state === 'stopped' || !sup.endpoint ? undefined : (sup.transport?.description ?? `WireGuard/UDP to ${sup.endpoint}`),
      transportReason: sup.state === 'stopped' ? undefined : sup.transport?.reason,
      transportProblems: sup.state === 'stopped' ? [] : (sup.transport?.problems ?? []),
      network: networkStatus(),
      claim: claim && { userCode: claim.userCode, verificationUriComplete: claim.verificationUriComplete, expiresAtMs: claim.expiresAtMs },
      lastError: lastError ?? (sup.state === 'backoff' ? sup.lastError : undefined),
      nextRetryAtMs: sup.nextRetryAtMs,
      clockProblems: clock.problems(),
      target: deps.target.origin,
      exposed: expose,
      certificate: pinOrigin
        ? { origin: pinOrigin, pinned: store.state.pins[pinOrigin], pending: store.state.pendingPins[pinOrigin] }
        : undefined,
    };
  };

  function networkStatus(): NetworkStatus {
    const n = network();
    const p = n.proxy;
    return {
      source: store.state.network ? 'this page' : 'command line',
      transport: n.transport,
      proxy: p ? { kind: p.kind, host: p.host, port: p.port, username: p.username, hasPassword: p.password !== undefined, text: describeProxy(p) } : undefined,
    };
  }

  function notify(): void {
    const s = status();
    for (const l of listeners) {
      try {
        l(s);
      } catch (err) {
        logger.error('status listener threw', { err });
      }
    }
  }

  const bringUp = (): void => {
    if (closed || !registration()) return;
    supervisor.start();
    notify();
  };

  const cancelClaim = (): void => {
    if (claim) timers.clearTimeout(claim.timer);
    claim = undefined;
  };

  const onApproved = (reg: Registration): void => {
    cancelClaim();
    if (reg.serial !== deps.serial) {
      lastError = `the hub approved serial "${reg.serial}", not "${deps.serial}"`;
      logger.error('claim approved for another serial', { serial: reg.serial });
      notify();
      return;
    }
    store.update((s) => {
      s.registration = reg;
      s.enabled = true;
    });
    lastError = undefined;
    logger.info('claim approved; registration stored', { tunnelIp: reg.tunnelIp, url: reg.url });
    bringUp();
  };

  const schedulePoll = (c: ClaimState): void => {
    c.timer = timers.setTimeout(() => void poll(c), c.intervalMs);
  };

  async function poll(c: ClaimState): Promise<void> {
    if (claim !== c) return;
    if (timers.now() >= c.expiresAtMs) {
      cancelClaim();
      lastError = 'The approval code expired. Press "Enable remote access" again.';
      notify();
      return;
    }
    try {
      const r = await hub.pollClaim(c.pollToken);
      if (claim !== c) return;
      switch (r.status) {
        case 'pending':
          break;
        case 'approved':
          onApproved(r.registration);
          return;
        case 'slow_down':
          c.intervalMs += 5_000; // RFC 8628 §3.5
          break;
        case 'expired_token':
          cancelClaim();
          lastError = 'The approval code expired. Press "Enable remote access" again.';
          notify();
          return;
        case 'access_denied':
          cancelClaim();
          lastError = 'The request was denied on the portal.';
          notify();
          return;
      }
    } catch (err) {
      if (claim !== c) return;
      // Unreachable hub: keep polling until the code expires (the owner may still approve).
      logger.warn('claim poll failed', { err });
      if (err instanceof HubError) {
        cancelClaim();
        lastError = `The hub refused the claim: ${err.message}`;
        notify();
        return;
      }
    }
    schedulePoll(c);
  }

  async function registerWithToken(attempt = 0): Promise<void> {
    if (closed || !deps.enrollmentToken) return;
    registering = true;
    notify();
    try {
      const reg = await hub.register({
        serial: deps.serial,
        publicKey,
        enrollmentToken: deps.enrollmentToken,
        agentVersion: AGENT_VERSION,
        ...attestation(),
      });
      registering = false;
      if (reg.serial !== deps.serial) throw new HubError(200, 'serial_mismatch', `hub registered "${reg.serial}"`);
      store.update((s) => {
        s.registration = reg;
        s.enabled = true;
      });
      lastError = undefined;
      logger.info('registered with enrollment token', { tunnelIp: reg.tunnelIp, url: reg.url, key: keyTag(publicKey) });
      bringUp();
    } catch (err) {
      const retry = err instanceof HubUnreachableError || (err instanceof HubError && err.status === 429);
      lastError = `Registration failed: ${(err as Error).message}`;
      if (!retry) {
        registering = false;
        logger.error('registration refused', { err });
        notify();
        return;
      }
      const delay = backoffDelayMs(attempt, timers.random, { maxMs: 300_000 });
      logger.warn('registration failed; retrying', { err, retryInMs: delay });
      registerTimer = timers.setTimeout(() => void registerWithToken(attempt + 1), delay);
      notify();
    }
  }

  return {
    publicKey,
    clock,
    handleOverlayConnection,
    status,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async start() {
      logger.info('agent starting', {
        key: keyTag(publicKey),
        target: deps.target.origin,
        exposed: expose.map((e) => e.port),
        ...(deps.deviceCredential ? { deviceCertificate: deps.deviceCredential.subject } : {}),
      });
      const stored = store.state.registration;
      if (stored && stored.serial !== deps.serial) {
        logger.warn('stored registration is for another serial; ignoring it', { stored: stored.serial });
      }
      // Clock correction before the first handshake of this boot; best effort.
      if (clock.localClockWrong() || registration()) await hub.probeDate();
      if (store.state.enabled && registration()) bringUp();
      else if (deps.enrollmentToken && !registration()) void registerWithToken();
      notify();
    },

    async enable({ returnUrl }) {
      lastError = undefined;
      if (registration()) {
        store.update((s) => {
          s.enabled = true;
        });
        bringUp();
        return { redirectTo: undefined };
      }
      if (claim && timers.now() < claim.expiresAtMs) return { redirectTo: claim.verificationUriComplete };
      cancelClaim();
      let started;
      try {
        started = await hub.startClaim({ serial: deps.serial, publicKey, returnUrl, agentVersion: AGENT_VERSION, ...attestation() });
      } catch (err) {
        lastError = `Could not reach the portal: ${(err as Error).message}`;
        notify();
        throw err;
      }
      const c: ClaimState = {
        userCode: started.userCode,
        verificationUriComplete: started.verificationUriComplete,
        pollToken: started.pollToken,
        expiresAtMs: timers.now() + started.expiresIn * 1000,
        intervalMs: Math.max(1, started.interval) * 1000,
        timer: undefined,
      };
      claim = c;
      logger.info('claim started; waiting for approval', { userCode: c.userCode });
      schedulePoll(c);
      notify();
      return { redirectTo: c.verificationUriComplete };
    },

    async disable() {
      cancelClaim();
      timers.clearTimeout(registerTimer);
      registering = false;
      // The hub hears it at once (one packet through the tunnel) and tells visitors why.
      const stopping = supervisor.stop({ notifyHub: true });
      if (store.state.enabled) {
        store.update((s) => {
          s.enabled = false;
        });
      }
      lastError = undefined;
      logger.info('remote access disabled locally');
      notify();
      await stopping;
    },

    async forgetRegistration() {
      await this.disable();
      store.update((s) => {
        s.registration = null;
      });
      notify();
    },

    acceptCertificate(fingerprint) {
      if (!pinOrigin) return false;
      const pending = store.state.pendingPins[pinOrigin];
      if (!pending || pending.fingerprint !== fingerprint) return false;
      store.update((s) => {
        s.pins[pinOrigin] = fingerprint;
        delete s.pendingPins[pinOrigin];
      });
      logger.warn('owner accepted a new target certificate', { origin: pinOrigin, fingerprint });
      notify();
      return true;
    },

    network,

    async setNetwork(settings) {
      store.update((s) => {
        if (settings) s.network = settings;
        else delete s.network;
      });
      logger.info('network settings changed on the page', { transport: network().transport, proxy: network().proxy ? describeProxy(network().proxy!) : 'none' });
      // A running tunnel reconnects at once with the new carrier and proxy; a stopped one stays stopped.
      if (supervisor.status().state !== 'stopped' && !closed) {
        await supervisor.stop();
        supervisor.start();
      }
      notify();
    },

    async close() {
      closed = true;
      cancelClaim();
      timers.clearTimeout(registerTimer);
      await supervisor.stop();
      forwarder.close();
    },
  };
}
