// The seams between the proxy and the rest of the hub: the device directory the
// registry implements, the dialer the data plane implements, visitor authorisation and the access
// log sink. The proxy depends only on these; tests plug in local TCP servers and in-memory fakes.
import type { Duplex } from 'node:stream';

/** What the proxy needs to know about a device; one row per serial, cached in memory. */
export interface DeviceRoute {
  id: string;
  serial: string;
  /** The device's organisation, when the directory knows it (the access log records it per entry). */
  organizationId?: string;
  tunnelIp: string;
  status: 'enabled' | 'disabled';
  accessPolicy: 'owners' | 'public';
  /** Whether the WireGuard session is up (a recent handshake). */
  online: boolean;
  /** Why an offline device is offline, when the hub knows: its owner pressed Disable on the device. */
  offlineReason?: 'turned-off-on-device';
  lastSeenAt: Date | null;
  /** The owner's exposure window as the device reported it (null: until turned off); absent: not reported. */
  exposureUntil?: Date | null;
  /** When the device said that window ended and closed remote access itself. */
  exposureEndedAt?: Date | null;
}

/** When the owner's window ended, if it has: the device's word, else the reported end once past. */
export function windowEndedAt(device: DeviceRoute, nowMs: number): Date | undefined {
  if (device.exposureEndedAt) return device.exposureEndedAt;
  // The owner pressed Disable before the window's end: that is what happened, not the window.
  if (device.offlineReason === 'turned-off-on-device') return undefined;
  if (device.exposureUntil && device.exposureUntil.getTime() <= nowMs) return device.exposureUntil;
  return undefined;
}

export interface DeviceDirectory {
  /** The device for a (lowercase, validated) serial; undefined when there is none. May throw when the database is down and nothing is cached. */
  findBySerial(serial: string): Promise<DeviceRoute | undefined>;
  /** Forget the cached row: called when a device is registered, changed, disabled or deleted. */
  invalidate(serial: string): void;
}

/**
 * Opens a TCP connection to `port` on the device (over the overlay in production, a local server in
 * tests). Resolves once connected; rejects when the device refuses (agent RST) or is unreachable.
 * `signal` aborts a dial that takes too long.
 */
export interface DeviceDialer {
  dial(device: DeviceRoute, port: number, signal?: AbortSignal): Promise<Duplex>;
}

/** Authorisation questions the proxy asks the registry. */
export interface VisitorAuth {
  /** Whether the user may still reach the device (grants can be revoked after a device session began). */
  canAccessDevice(userId: string, deviceId: string): Promise<boolean>;
  /** Whether that access is read-only (HTTP GET and HEAD only: a read-only grant). Absent: never. */
  readOnlyFor?(userId: string, deviceId: string): Promise<boolean>;
  /**
   * The user and scopes of a hub API token presented as `Authorization: Bearer …` (CLI, scripts);
   * null when it is not a valid token of this hub (unknown, revoked, expired). Rejects when the
   * registry cannot be asked. Scopes on device hosts: see hub-credentials.ts.
   */
  userForBearerToken?(token: string): Promise<BearerHolder | null>;
  /**
   * Whether the device belongs to the organisation (an organisation token opens only its own
   * organisation's devices). Absent: organisation tokens open no device. Rejects when the registry
   * cannot be asked.
   */
  inOrganization?(deviceId: string, organizationId: string): Promise<boolean>;
}

/** Who a hub API token acts as: a user, or (an organisation token) an organisation with a role. */
export interface BearerHolder {
  /** The user (an organisation token's maker, for the access log). */
  userId: string;
  scopes: readonly string[];
  /** Set for an organisation token: its organisation, and whether its role opens devices (technician and up). */
  organization?: { id: string; opensDevices: boolean };
}

/** Where an installer link is opened on the device host (`?token=`). */
export const INSTALLER_LINK_PATH = '/.porthole/link';

/** What opening an installer link gave: a principal for the holder's device session, or why not. */
export type InstallerLinkRedemption =
  | { ok: true; principal: string; readOnly: boolean; expiresAt: Date }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked'; at?: Date };

/** Installer links (registry/device-links.ts): a token for one device that opens it without an account. */
export interface InstallerLinks {
  /** Checks `token` for the device and counts the use; rejects when the registry cannot be asked. */
  redeem(token: string, deviceId: string): Promise<InstallerLinkRedemption>;
}

/** May the visitor reach `port` on the device via /.porthole/tcp? The agent enforces its own allow-list too. */
export type TcpPortPolicy = (device: DeviceRoute, port: number) => boolean | Promise<boolean>;

export interface AccessLogEntry {
  at: Date;
  requestId: string;
  deviceId: string;
  serial: string;
  /** The device's organisation at the time of the request; when absent, the log looks it up by serial. */
  organizationId?: string;
  /** The authenticated visitor, or null (public device, refused visitor). */
  userId: string | null;
  clientIp: string;
  method: string;
  /** Path without the query string (queries may carry secrets). */
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** http, websocket or tcp. */
  kind: 'http' | 'websocket' | 'tcp';
  /** The device port reached: the web UI's for http and websocket, the requested one for tcp. */
  port?: number;
}

/** Receives one entry per proxied request; must never block or throw (batched behind the scenes). */
export interface AccessLogSink {
  record(entry: AccessLogEntry): void;
}
