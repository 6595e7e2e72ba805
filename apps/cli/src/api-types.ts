// The shapes the hub's /api/v1 returns (apps/hub/src/api/schemas.ts is the source of truth; the
// CLI keeps its own copy of the fields it reads, so it never imports the hub).

export interface WhoAmI {
  user: { id: string; email: string; role: 'admin' | 'user' };
  scopes: string[];
}

export interface Device {
  id: string;
  serial: string;
  publicKey: string;
  tunnelIp: string;
  status: 'enabled' | 'disabled';
  accessPolicy: 'owners' | 'public';
  tags: string[];
  owner: { id: string; email: string } | null;
  agentVersion: string | null;
  url: string;
  online: boolean;
  createdAt: string;
  registeredAt: string;
  lastHandshakeAt: string | null;
  lastEndpoint: string | null;
  rxBytes: number;
  txBytes: number;
  /** Proved its serial with a vendor certificate at its last registration (hubs with a device CA). */
  attested: boolean;
  attestedAt: string | null;
  attestationSubject: string | null;
  attestationIssuer: string | null;
}

export interface DevicePage {
  devices: Device[];
  nextCursor: string | null;
}

export interface Grant {
  userId: string;
  email: string;
  createdAt: string;
  expiresAt: string | null;
}

export interface EnrollmentToken {
  id: string;
  description: string;
  displayPrefix: string;
  tags: string[];
  maxUses: number;
  uses: number;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  state: 'active' | 'expired' | 'used' | 'revoked';
}

export interface ApiToken {
  id: string;
  name: string;
  displayPrefix: string;
  scopes: ('read' | 'write')[];
  userId: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface SerialReservation {
  prefix: string;
  description: string;
  createdBy: { id: string; email: string } | null;
  createdAt: string;
}

export interface AdminPeer {
  id: string;
  name: string;
  publicKey: string;
  tunnelIp: string;
  createdAt: string;
  lastHandshakeAt: string | null;
  lastEndpoint: string | null;
}

export interface AccessLogEntry {
  id: number;
  at: string;
  serial: string;
  userId: string | null;
  clientIp: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export interface AccessLogPage {
  entries: AccessLogEntry[];
  nextCursor: string | null;
}
