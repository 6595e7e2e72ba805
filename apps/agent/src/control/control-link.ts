// The agent's end of the control channel (contract: apps/agent/README.md, messages in
// @porthole/device-control). It serves the hub's messages on DEVICE_CONTROL_PORT of its tunnel
// address, answering only the hub's tunnel address (admin peers can reach device addresses; the
// hub's router also drops this port from them), and sends its own to the hub's tunnel address.
import type { Duplex } from 'node:stream';
import {
  DEVICE_CONTROL_PORT,
  createControlServer,
  hubPolicySchema,
  journalMessageSchema,
  moveMessageSchema,
  policyMessageSchema,
  postControl,
  route,
  type AgentReport,
  type HubPolicy,
  type JournalEntry,
  type MoveMessage,
} from '@porthole/device-control';
import type { Logger } from '../log/logger.js';
import type { Tunnel } from '../tunnel/tunnel.js';

/** Lets the `move` answer leave through the old tunnel before it is replaced. */
const MOVE_AFTER_ANSWER_MS = 50;

export interface ControlLinkOptions {
  /** The hub's tunnel address from the registration: the only source accepted, the destination of our messages. */
  hubTunnelIp(): string | undefined;
  logger: Logger;
  onPolicy(policy: HubPolicy): void;
  /** The hub hears the push was taken once the returned promise resolves (the entries are durable). */
  onJournal(entries: JournalEntry[]): Promise<void> | void;
  /** Every live hub node's endpoint, from a policy push or a report answer (a cluster's hubs send it). */
  onEndpoints?(endpoints: string[]): void;
  /** The node holding this device is leaving: handshake with one of the given endpoints now. */
  onMove?(move: MoveMessage): void;
}

export interface ControlLink {
  /** Serves the control port on a new tunnel. */
  attach(tunnel: Tunnel): void;
  /** Tells the hub the agent's version and window; resolves with the fleet policy it answers. */
  report(tunnel: Tunnel, report: AgentReport): Promise<HubPolicy>;
  /** Tells the hub the owner's window ended (just before the tunnel goes down). */
  windowEnded(tunnel: Tunnel, endedAt: Date, timeoutMs?: number): Promise<void>;
  close(): void;
}

export function createControlLink(o: ControlLinkOptions): ControlLink {
  const log = o.logger.child({ component: 'control' });
  const server = createControlServer({
    accept: (address) => address !== '' && address === o.hubTunnelIp(),
    handlers: {
      policy: route(policyMessageSchema, (policy) => {
        if (policy.endpoints) o.onEndpoints?.(policy.endpoints);
        o.onPolicy(policy);
      }),
      // Answered (204) before the tunnel is replaced: the leaving node learns the device heard it.
      move: route(moveMessageSchema, (move) => {
        setTimeout(() => o.onMove?.(move), MOVE_AFTER_ANSWER_MS).unref();
      }),
      journal: route(journalMessageSchema, async (message) => {
        await o.onJournal(message.entries);
      }),
    },
    onError: (err, info) => log.warn('control message refused or failed', { err, ...info }),
  });

  async function send(tunnel: Tunnel, name: string, message: unknown, timeoutMs?: number): Promise<unknown> {
    const hub = o.hubTunnelIp();
    if (!hub) throw new Error('no registration: no hub to talk to');
    const socket: Duplex = await tunnel.dialHub(DEVICE_CONTROL_PORT);
    const reply = await postControl(socket, hub, name, message, timeoutMs);
    if (reply.status >= 300) throw new Error(`hub refused ${name}: HTTP ${reply.status} ${JSON.stringify(reply.body ?? '').slice(0, 200)}`);
    return reply.body;
  }

  return {
    attach(tunnel) {
      tunnel.listen(DEVICE_CONTROL_PORT, (socket) => server.handle(socket as Duplex & { remoteAddress?: string }));
    },
    async report(tunnel, report) {
      const parsed = hubPolicySchema.safeParse(await send(tunnel, 'report', report));
      if (!parsed.success) throw new Error(`hub answered the report with no valid policy (${parsed.error.issues[0]!.message})`);
      if (parsed.data.endpoints) o.onEndpoints?.(parsed.data.endpoints);
      return parsed.data;
    },
    async windowEnded(tunnel, endedAt, timeoutMs = 2_000) {
      await send(tunnel, 'window-ended', { endedAt: endedAt.toISOString() }, timeoutMs);
    },
    close() {
      server.close();
    },
  };
}
