// The messages of the control channel. Both ends parse what they receive with these schemas: a
// message is input like any other, and one that does not fit is answered 400 and changes nothing.
import { z } from 'zod';

/**
 * TCP port of the control channel on the overlay, on both ends: the agent listens on its tunnel
 * address (accepting only the hub's tunnel address as source), the hub on its own (accepting only
 * device addresses). The hub's router drops this port from admin peers towards devices.
 */
export const DEVICE_CONTROL_PORT = 61820;

/** Path prefix of every control message: `POST /control/v1/<message>`. */
export const CONTROL_PATH = '/control/v1';

/** Largest control message body accepted (a journal batch fits easily). */
export const MAX_CONTROL_BODY_BYTES = 256 * 1024;

const isoTime = z.string().datetime({ offset: true });

// ---------------------------------------------------------------------------------------------
// Agent → hub (the hub listens on its tunnel address)

/**
 * `POST /control/v1/report`: sent by the agent when its tunnel comes up and whenever the owner
 * changes the exposure window. `exposure.until` null = "until I turn it off".
 */
export const agentReportSchema = z.object({
  agentVersion: z.string().max(64),
  exposure: z.object({
    until: isoTime.nullable(),
  }),
});
export type AgentReport = z.infer<typeof agentReportSchema>;

/** A hub node's WireGuard UDP endpoint, `host:port` as the registration's `hub.endpoint`. */
export const wgEndpointSchema = z.string().min(3).max(300);

/**
 * The hub's answer to a report: the fleet policy the agent must apply, and where the hub can be
 * reached. The hub also pushes it as `policy` after a handshake and whenever the set of live
 * cluster nodes changes, so this is the agent's periodic refresh of the endpoints.
 */
export const hubPolicySchema = z.object({
  /** Longest exposure window the owner may choose, in hours; null = no limit ("until I turn it off" allowed). */
  maxExposureHours: z.number().int().positive().max(8760).nullable(),
  /**
   * Every live hub node's WireGuard endpoint (`host:port`), the answering node's first; all nodes
   * share the hub's key, so the agent may handshake with any of them when its node stops answering.
   * Absent from hubs older than clusters; a single node sends its own endpoint alone.
   */
  endpoints: z.array(wgEndpointSchema).max(64).optional(),
});
export type HubPolicy = z.infer<typeof hubPolicySchema>;

/**
 * `POST /control/v1/window-ended`: the agent is closing remote access because the owner's window
 * ended; sent just before the tunnel goes down (best effort: the hub also knows `until`).
 */
export const windowEndedSchema = z.object({
  endedAt: isoTime,
});
export type WindowEnded = z.infer<typeof windowEndedSchema>;

// ---------------------------------------------------------------------------------------------
// Hub → agent (the agent listens on its tunnel address)

/** `POST /control/v1/policy`: the hub pushes the fleet policy (after its own restart, or a change). */
export const policyMessageSchema = hubPolicySchema;

/** One visit as the hub saw it: a visitor (user or address) on one port, requests counted. */
export const journalEntrySchema = z.object({
  /** Stable per visit: the hub sends a visit when it starts and again when it ends; the agent keeps the latest. */
  id: z.string().min(1).max(64),
  startedAt: isoTime,
  /** Last request seen so far; equals the end once `ended`. */
  lastAt: isoTime,
  ended: z.boolean(),
  /** Who, when signed in through the portal; null for a public device's anonymous visitor. */
  user: z
    .object({
      email: z.string().max(320),
      /** The visitor's organisation, where the hub has organisations; null otherwise. */
      organisation: z.string().max(200).nullable(),
    })
    .nullable(),
  /** The visitor's address as the hub saw it. */
  clientIp: z.string().max(64),
  kind: z.enum(['http', 'websocket', 'tcp']),
  /** Overlay port reached: 80 for the web UI, the exposed port for TCP. */
  port: z.number().int().min(1).max(65535),
  requests: z.number().int().nonnegative(),
  /** Requests the device never saw (refused by the hub: sign-in, access, offline). */
  refused: z.number().int().nonnegative(),
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
});
export type JournalEntry = z.infer<typeof journalEntrySchema>;

/** `POST /control/v1/journal`: visits to add or update in the device's access journal. */
export const journalMessageSchema = z.object({
  entries: z.array(journalEntrySchema).min(1).max(500),
});
export type JournalMessage = z.infer<typeof journalMessageSchema>;

/**
 * `POST /control/v1/move`: the hub node holding this device's session is leaving (SIGTERM, rolling
 * restart). The agent answers 204 at once, then points its hub peer at one of `endpoints` (never
 * `from`'s own; any order it likes, the first is the hub's suggestion) and initiates a handshake
 * there without waiting for its keepalive; the node that completes it takes the device over. The
 * leaving node waits a few seconds for that before it closes. Same key, same tunnel addresses:
 * nothing else about the tunnel changes.
 */
export const moveMessageSchema = z.object({
  /** Name of the node that is leaving (PORTHOLE_NODE_NAME), for the agent's log. */
  from: z.string().min(1).max(200),
  /** The endpoint of the leaving node: not to be dialled again until it reappears in a policy. */
  fromEndpoint: wgEndpointSchema,
  /** Live nodes' WireGuard endpoints to move to, the leaving node's excluded; at least one. */
  endpoints: z.array(wgEndpointSchema).min(1).max(64),
});
export type MoveMessage = z.infer<typeof moveMessageSchema>;

/** Error body of a refused control message (same shape as the hub's API errors). */
export interface ControlError {
  error: { code: string; message: string };
}
