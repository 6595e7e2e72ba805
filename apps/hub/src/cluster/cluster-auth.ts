// Authentication between the nodes of a cluster: each request to a node's internal listener
// carries an HMAC-SHA256 of its method, path, sending node and time under the shared secret
// (PORTHOLE_CLUSTER_SECRET_FILE), so the secret itself never crosses the network and a captured
// header is good for one path for at most CLUSTER_AUTH_SKEW_MS.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const CLUSTER_AUTH_SCHEME = 'PortholeCluster';
/** How far a request's time may be from the receiver's clock (nodes run NTP). */
export const CLUSTER_AUTH_SKEW_MS = 30_000;

function mac(secret: string, node: string, ts: number, method: string, path: string): Buffer {
  return createHmac('sha256', secret).update(`porthole-cluster-v1\n${node}\n${ts}\n${method.toUpperCase()}\n${path}`).digest();
}

/** The Authorization header value for one request. */
export function signClusterRequest(secret: string, node: string, method: string, path: string, nowMs = Date.now()): string {
  return `${CLUSTER_AUTH_SCHEME} node="${node}", ts="${nowMs}", mac="${mac(secret, node, nowMs, method, path).toString('base64url')}"`;
}

export type ClusterAuthResult = { ok: true; node: string } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'bad-mac' };

const HEADER_RE = /^PortholeCluster node="([A-Za-z0-9][A-Za-z0-9._-]{0,62})", ts="(\d{1,16})", mac="([A-Za-z0-9_-]{43})"$/;

/** Checks a request's Authorization header; never throws on what a stranger sent. */
export function verifyClusterRequest(secret: string, header: string | undefined, method: string, path: string, nowMs = Date.now()): ClusterAuthResult {
  if (!header) return { ok: false, reason: 'missing' };
  const m = HEADER_RE.exec(header);
  if (!m) return { ok: false, reason: 'malformed' };
  const node = m[1]!;
  const ts = Number(m[2]);
  if (Math.abs(nowMs - ts) > CLUSTER_AUTH_SKEW_MS) return { ok: false, reason: 'stale' };
  const expected = mac(secret, node, ts, method, path);
  const got = Buffer.from(m[3]!, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return { ok: false, reason: 'bad-mac' };
  return { ok: true, node };
}
