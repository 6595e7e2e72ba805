// The hub's end of the control channel with device agents (contract: apps/agent/README.md,
// messages: @porthole/device-control). It listens on DEVICE_CONTROL_PORT of the hub's tunnel
// address for agents' messages, accepting only device addresses (WireGuard authenticated the
// source; admin peers are refused), and sends the hub's messages to a device's tunnel address.
import type { Duplex } from 'node:stream';
import {
  DEVICE_CONTROL_PORT,
  agentReportSchema,
  createControlServer,
  postControl,
  route,
  windowEndedSchema,
  type HubPolicy,
  type JournalEntry,
} from '@porthole/device-control';
import type { Logger } from '../ops/logger.js';
import type { AccessLogEntry } from '../proxy/contracts.js';
import { createVisitJournal } from './visit-journal.js';

/** What the control endpoint needs from the overlay's stack. */
export interface ControlNetstack {
  listen(port: number, onConnection: (socket: Duplex & { remoteAddress?: string }) => void): { close(): void };
  connect(request: { host: string; port: number; timeoutMs?: number; noDelay?: boolean }): Duplex;
}

export interface DeviceControlOptions {
  netstack: ControlNetstack;
  /** Whether a tunnel address belongs to a device (not an admin peer, not unknown). */
  isDeviceAddress(address: string): boolean;
  /** A device's tunnel address and whether its session is up, by serial. */
  findDevice(serial: string): Promise<{ tunnelIp: string; online: boolean } | undefined>;
  registry: {
    reportDeviceExposure(tunnelIp: string, until: Date | null): Promise<string | undefined>;
    endDeviceExposure(tunnelIp: string, endedAt: Date): Promise<string | undefined>;
    getUser(id: string): Promise<{ email: string }>;
  };
  policy: HubPolicy;
  /**
   * Opens the connection for a hub → device message (default: this node's netstack). In a cluster
   * it goes through the node holding the device: a packet from another node would start a
   * handshake there and pull the device's session away from its holder.
   */
  dial?(tunnelIp: string, port: number, signal: AbortSignal): Promise<Duplex>;
  /** A device's window changed: cached routes must be reloaded. */
  onDeviceChanged(serial: string): void;
  logger: Logger;
  journalIdleMs?: number;
  journalFlushMs?: number;
  /** A visit's first request that reached the device (webhooks' access.started). */
  onVisitStarted?(entry: AccessLogEntry): void;
}

export function startDeviceControl(o: DeviceControlOptions) {
  const log = o.logger.child({ component: 'device-control' });
  const server = createControlServer({
    accept: (address) => o.isDeviceAddress(address),
    handlers: {
      report: route(agentReportSchema, async (report, { remoteAddress }) => {
        const until = report.exposure.until === null ? null : new Date(report.exposure.until);
        const serial = await o.registry.reportDeviceExposure(remoteAddress, until);
        if (serial) {
          o.onDeviceChanged(serial);
          log.info('device reported its exposure window', { device: serial, until: report.exposure.until ?? 'until turned off', agentVersion: report.agentVersion });
        }
        return o.policy;
      }),
      'window-ended': route(windowEndedSchema, async (message, { remoteAddress }) => {
        const serial = await o.registry.endDeviceExposure(remoteAddress, new Date(message.endedAt));
        if (serial) {
          o.onDeviceChanged(serial);
          log.info("device closed remote access: the owner's window ended", { device: serial, endedAt: message.endedAt });
        }
      }),
    },
    onError: (err, info) => log.warn('control message refused or failed', { err: String(err), ...info }),
  });
  const listener = o.netstack.listen(DEVICE_CONTROL_PORT, (socket) => server.handle(socket));

  /** One message to a device; resolves with the HTTP status (2xx = accepted). */
  function send(tunnelIp: string, name: string, message: unknown): Promise<number> {
    if (o.dial) {
      return o.dial(tunnelIp, DEVICE_CONTROL_PORT, AbortSignal.timeout(5_000)).then((socket) => {
        return postControl(socket, tunnelIp, name, message).then((r) => r.status);
      });
    }
    return new Promise((resolve, reject) => {
      const socket = o.netstack.connect({ host: tunnelIp, port: DEVICE_CONTROL_PORT, timeoutMs: 5_000, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        postControl(socket, tunnelIp, name, message).then((r) => resolve(r.status), reject);
      });
    });
  }

  const journal = createVisitJournal({
    async deliver(serial: string, entries: JournalEntry[]) {
      const device = await o.findDevice(serial);
      if (!device?.online) return false;
      for (let i = 0; i < entries.length; i += 500) {
        const status = await send(device.tunnelIp, 'journal', { entries: entries.slice(i, i + 500) });
        // 404: an agent without a journal (older version): nothing to keep for it.
        if (status === 404) return true;
        if (status >= 300) return false;
      }
      return true;
    },
    userInfo: async (id) => {
      const user = await o.registry.getUser(id);
      // Organisations do not exist in this hub yet; the field is there for when they do.
      return { email: user.email, organisation: null };
    },
    logger: log,
    ...(o.journalIdleMs ? { idleMs: o.journalIdleMs } : {}),
    ...(o.journalFlushMs ? { flushIntervalMs: o.journalFlushMs } : {}),
    ...(o.onVisitStarted ? { onVisitStarted: o.onVisitStarted } : {}),
  });

  // Agents learn the fleet policy in the answer to their report, sent when their tunnel comes up.
  // A device whose session merely resumes (this hub restarted) sends none: push it once per process.
  const told = new Set<string>();
  let closed = false;
  function peerHandshake(tunnelIp: string): void {
    if (closed || told.has(tunnelIp) || !o.isDeviceAddress(tunnelIp)) return;
    told.add(tunnelIp);
    // After the handshake's own packets, so the connection rides the new session.
    setTimeout(() => {
      if (closed) return;
      send(tunnelIp, 'policy', o.policy).then(
        (status) => {
          if (status >= 300 && status !== 404) told.delete(tunnelIp);
        },
        (err: unknown) => {
          told.delete(tunnelIp); // the next handshake tries again
          log.debug('policy push failed', { err: String(err), tunnelIp });
        },
      );
    }, 500).unref();
  }

  return {
    /** The access-log sink that feeds the devices' journals. */
    journal,
    send,
    /** A WireGuard handshake with the peer at `tunnelIp` completed. */
    peerHandshake,
    async close() {
      closed = true;
      listener.close();
      await journal.close().catch(() => {});
      server.close();
    },
  };
}

export type DeviceControl = ReturnType<typeof startDeviceControl>;
