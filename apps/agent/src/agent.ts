// The agent: one object that owns the state, the claim / enrollment flows, the tunnel supervisor
// and the forwarding from the overlay. `createAgent(deps)` wires it from injected parts so tests run
// it against a fake registry and a fake tunnel; main.ts builds the real thing from the config.
// Phases change only through `go` (flow/phase.ts's transition plus the effects of leaving and
// entering a phase); the claim flow and enrollment own their timers and report back through it.
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { attest, type DeviceCredential } from './attestation.js';
import type { ExposedPort } from './config.js';
import { HandshakeClock } from './clock/handshake-clock.js';
import { createControlLink } from './control/control-link.js';
import { ExposureManager } from './exposure/exposure-manager.js';
import { createClaimFlow } from './flow/claim-flow.js';
import { createEnrollment } from './flow/enrollment.js';
import { INITIAL_FLOW, transition, type FlowEvent, type FlowState } from './flow/phase.js';
import { createHttpForwarder, type HttpForwarder } from './forward/http-forwarder.js';
import { forwardModbusReadOnly } from './forward/modbus-read-only.js';
import { forwardTcp } from './forward/tcp-forwarder.js';
import type { FetchLike } from './hub/hub-client.js';
import { createHubLink, registeredNodes } from './hub/hub-link.js';
import { JournalStore } from './journal/journal-store.js';
import { decodeKey, defaultTransportAead, encodeKey, keyTag, publicKeyFromPrivate } from '@porthole/wireguard';
import { silentLogger, type Logger } from './log/logger.js';
import { statePinStore } from './pin-store.js';
import { parseEndpoint, type Registration } from './registration.js';
import type { StateStore } from './state/state-store.js';
import { buildStatus, type AgentStatus } from './status.js';
import { describeProxy, type NetworkSettings } from './transport/network-settings.js';
import { realTimers, type Timers } from './timers.js';
import { TunnelSupervisor } from './tunnel/supervisor.js';
import type { Tunnel, TunnelFactory } from './tunnel/tunnel.js';
import { AGENT_VERSION } from './version.js';

export type { AgentPhase, AgentStatus, NetworkStatus } from './status.js';

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
  /** Proxy and transport from the command line; the page may override them. Default: direct, auto. */
  network?: NetworkSettings;
  /** Device certificate and key: every registration and claim carries an attestation. */
  deviceCredential?: DeviceCredential | undefined;
  /** The access journal; default `journal.json` beside the state file. */
  journal?: JournalStore;
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
  /** `windowHours`: the exposure window (null or absent = until turned off), shortened to the fleet maximum. */
  enable(options: { returnUrl?: string; windowHours?: number | null }): Promise<EnableResult>;
  /** "Disable" (or "Cancel" of a pending claim): local teardown at once, no hub contact needed; keeps key and registration. */
  disable(): Promise<void>;
  /** Forget the registration too (the next Enable runs a new claim). Keeps the key. */
  forgetRegistration(): Promise<void>;
  /** The owner is back from the portal saying it approved: poll now rather than at the next interval. */
  claimReturned(): void;
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
  const registration = (): Registration | undefined => {
    const r = store.state.registration;
    return r && r.serial === deps.serial ? r : undefined;
  };
  const { hub, network, resolveHub, endpoints } = createHubLink({
    hubUrl: deps.hubUrl,
    store,
    timers,
    clock,
    registration,
    network: deps.network,
    fetch: deps.fetch,
    resolve: deps.resolve,
  });
  const pins = statePinStore(store, timers.now);
  /** Proves the serial to hubs with a device CA; hubs without one ignore it. */
  const attestation = () => (deps.deviceCredential ? { attestation: attest(deps.deviceCredential, deps.serial, publicKey) } : {});
  const pinOrigin =
    deps.target.protocol === 'https:' ? `https://${deps.target.hostname}:${deps.target.port || '443'}` : undefined;

  const listeners = new Set<(s: AgentStatus) => void>();
  let flow: FlowState = INITIAL_FLOW;
  let closed = false;
  let journal = deps.journal;
  if (!journal) {
    const opened = JournalStore.open(dirname(store.path));
    if (opened.problem) logger.warn('access journal was damaged; starting a new one', { problem: opened.problem });
    journal = opened.journal;
  }
  const accessJournal = journal;

  const forwarder: HttpForwarder = createHttpForwarder({
    target: deps.target,
    publicUrl: () => registration()?.url,
    pins,
    logger,
  });

  const handleOverlayConnection = (port: number, socket: Duplex): void => {
    if (port === 80) return forwarder.handle(socket);
    const e = expose.find((x) => x.port === port);
    if (e?.mode === 'modbus-read-only') return void forwardModbusReadOnly(socket, { host: e.host, port: e.targetPort }, logger);
    if (e) return forwardTcp(socket, { host: e.host, port: e.targetPort }, logger);
    socket.destroy();
  };

  const control = createControlLink({
    hubTunnelIp: () => registration()?.hub.tunnelIp,
    logger,
    onPolicy: (policy) => exposure.applyPolicy(policy),
    onEndpoints(list) {
      const valid = list.filter((e) => parseEndpoint(e) !== undefined);
      if (endpoints()?.update(valid)) logger.info('hub nodes listed', { endpoints: valid });
    },
    onMove(move) {
      const e = endpoints();
      const next = e?.move(move.fromEndpoint, move.endpoints.filter((x) => parseEndpoint(x) !== undefined));
      if (!next) {
        logger.warn('hub node leaving, but no other node to move to', { from: move.from });
        return;
      }
      supervisor.reconnectNow(`hub node ${move.from} is leaving; moving to ${next}`);
    },
    onJournal(entries) {
      const durable = accessJournal.record(entries);
      notify();
      return durable;
    },
  });

  let wasOnline = false;
  const supervisor = new TunnelSupervisor({
    factory: deps.tunnelFactory,
    timers,
    logger,
    resolve: resolveHub,
    endpoints,
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
      control.attach(tunnel);
    },
    onChange: (sup) => {
      // Each time a tunnel comes up the hub hears the window (and answers with the fleet policy).
      const online = sup.state === 'online';
      if (online && !wasOnline) exposure.reportNow();
      wasOnline = online;
      notify();
    },
  });
  const onlineTunnel = (): Tunnel | undefined => (supervisor.status().state === 'online' ? supervisor.tunnel : undefined);

  const exposure = new ExposureManager({
    store,
    timers,
    logger,
    control,
    onlineTunnel,
    closeAccess: async () => {
      await go({ type: 'stopped' }, { notifyHub: true });
    },
    notify: () => notify(),
  });

  const status = (): AgentStatus =>
    buildStatus({
      flow,
      supervisor: supervisor.status(),
      state: store.state,
      serial: deps.serial,
      registered: registration() !== undefined,
      network: network(),
      clockProblems: clock.problems(),
      target: deps.target,
      exposed: expose,
      pinOrigin,
      exposure: exposure.status(),
      journal: accessJournal.entries(),
    });

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

  const storeRegistration = (reg: Registration): void => {
    store.update((s) => {
      s.registration = reg;
      s.enabled = true;
      // A new registration brings its own list of nodes (or none: a single hub), kept at once: a
      // policy that lists the same nodes later changes nothing, so it would never be written.
      const nodes = registeredNodes(reg);
      if (nodes) s.hubEndpoints = nodes;
      else delete s.hubEndpoints;
    });
  };

  const claims = createClaimFlow({
    hub,
    timers,
    logger,
    onApproved(reg) {
      if (reg.serial !== deps.serial) {
        logger.error('claim approved for another serial', { serial: reg.serial });
        void go({ type: 'claim-ended', error: `the hub approved serial "${reg.serial}", not "${deps.serial}"` });
        return;
      }
      storeRegistration(reg);
      logger.info('claim approved; registration stored', { tunnelIp: reg.tunnelIp, url: reg.url });
      void go({ type: 'claim-approved' });
    },
    onEnded: (error) => void go({ type: 'claim-ended', error }),
  });

  const enrollment = createEnrollment({
    hub,
    timers,
    logger,
    serial: deps.serial,
    request: () => ({ serial: deps.serial, publicKey, enrollmentToken: deps.enrollmentToken!, agentVersion: AGENT_VERSION, ...attestation() }),
    onRetrying: (error) => void go({ type: 'enrollment-retrying', error }),
    onSucceeded(reg) {
      storeRegistration(reg);
      logger.info('registered with enrollment token', { tunnelIp: reg.tunnelIp, url: reg.url, key: keyTag(publicKey) });
      void go({ type: 'enrollment-succeeded' });
    },
    onRefused: (error) => void go({ type: 'enrollment-refused', error }),
  });

  /**
   * The one place phases change: the transition, then the effects of leaving the old phase and
   * entering the new one. Resolves when those effects are done (Disable waits for the teardown).
   */
  async function go(event: FlowEvent, options: { notifyHub?: boolean } = {}): Promise<boolean> {
    const next = transition(flow, event);
    if (!next) {
      logger.debug('phase event ignored', { phase: flow.phase.name, event: event.type });
      return false;
    }
    const from = flow.phase;
    flow = next;
    const to = next.phase;
    let teardown: Promise<void> | undefined;
    if (from.name === 'waiting-approval' && (to.name !== 'waiting-approval' || to.claim !== from.claim)) claims.stop();
    if (from.name === 'registering' && to.name !== 'registering') enrollment.cancel();
    if (from.name === 'tunnel' && to.name !== 'tunnel') teardown = supervisor.stop(options);
    if (to.name === 'waiting-approval' && from !== to) logger.info('claim started; waiting for approval', { userCode: to.claim.userCode });
    if (to.name === 'registering' && from.name !== 'registering') enrollment.start();
    if (to.name === 'tunnel' && !closed && registration()) supervisor.start();
    notify();
    await teardown;
    return true;
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
        // node:crypto here means sodium-native did not load (no prebuild for this host, or a device
        // build copied without its node_modules): WireGuard works, at several times the CPU per packet.
        aead: defaultTransportAead.name,
        ...(deps.deviceCredential ? { deviceCertificate: deps.deviceCredential.subject } : {}),
      });
      const stored = store.state.registration;
      if (stored && stored.serial !== deps.serial) {
        logger.warn('stored registration is for another serial; ignoring it', { stored: stored.serial });
      }
      // Clock correction before the first handshake of this boot; best effort.
      if (clock.localClockWrong() || registration()) await hub.probeDate();
      if (store.state.enabled && registration()) {
        // A window that ended while the agent was down keeps remote access off, hub or no hub.
        if (!exposure.resume()) await go({ type: 'tunnel-requested' });
      }
      else if (deps.enrollmentToken && !registration()) await go({ type: 'enrollment-started' });
      notify();
    },

    async enable({ returnUrl, windowHours = null }) {
      exposure.begin(windowHours);
      if (registration()) {
        store.update((s) => {
          s.enabled = true;
        });
        await go({ type: 'tunnel-requested' });
        return { redirectTo: undefined };
      }
      if (flow.phase.name === 'waiting-approval' && timers.now() < flow.phase.claim.expiresAtMs) {
        return { redirectTo: flow.phase.claim.verificationUriComplete };
      }
      let started;
      try {
        started = await claims.begin({ serial: deps.serial, publicKey, returnUrl, agentVersion: AGENT_VERSION, ...attestation() });
      } catch (err) {
        await go({ type: 'failed', error: `Could not reach the portal: ${(err as Error).message}` });
        throw err;
      }
      if (!(await go({ type: 'claim-started', claim: started.claim }))) return { redirectTo: undefined };
      claims.watch(started.claim, started.intervalMs);
      return { redirectTo: started.claim.verificationUriComplete };
    },

    async disable() {
      // The hub hears it at once (one packet through the tunnel) and tells visitors why.
      const stopping = go({ type: 'stopped' }, { notifyHub: true });
      exposure.clear();
      if (store.state.enabled) {
        store.update((s) => {
          s.enabled = false;
        });
      }
      logger.info('remote access disabled locally');
      notify();
      await stopping;
    },

    async forgetRegistration() {
      await this.disable();
      store.update((s) => {
        s.registration = null;
        delete s.hubEndpoints;
      });
      notify();
    },

    claimReturned() {
      claims.pollNow();
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
      exposure.close();
      await go({ type: 'stopped' });
      control.close();
      forwarder.close();
      // A push the hub sent just before is still being written (its failure was answered already).
      await accessJournal.flushed().catch(() => undefined);
    },
  };
}
