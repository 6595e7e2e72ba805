// Admin WireGuard peers: a fleet admin's laptop with stock WireGuard joins the overlay with a tunnel
// IP from the device pool and may reach device tunnel IPs (the overlay router enforces that).
// The hub hands out a wg-quick file; the private key never leaves the laptop.
import { asc, eq } from 'drizzle-orm';
import { adminPeers, DEFAULT_ORGANIZATION_ID, freeTunnelIp } from '@porthole/db';
import { keyTag } from '@porthole/wireguard';
import { ConflictError, NotFoundError, ValidationError, withDbErrors } from '../errors.js';
import { inTransaction, PERSISTENT_KEEPALIVE_SECONDS, recordChanges, type RegistryContext } from './context.js';
import { UUID_RE } from './devices.js';
import { takeTunnelIp } from './overlay-pool.js';
import { assertKeyFree } from './registration.js';
import { showRow } from './shown-row.js';
import { parsePublicKey } from './wireguard-key.js';

export interface AdminPeerInfo {
  id: string;
  organizationId: string;
  name: string;
  publicKey: string;
  tunnelIp: string;
  createdAt: string;
  lastHandshakeAt: string | null;
  lastEndpoint: string | null;
}

type AdminPeerRow = typeof adminPeers.$inferSelect;

function toInfo(row: AdminPeerRow): AdminPeerInfo {
  return showRow(row, ['id', 'organizationId', 'name', 'publicKey', 'tunnelIp', 'createdAt', 'lastHandshakeAt', 'lastEndpoint']);
}

/** Names end up in a wg-quick comment: printable, single line. */
const NAME_RE = /^[\p{L}\p{N} ._@()-]{1,64}$/u;

/** The wg-quick configuration for the laptop whose public key is `peer.publicKey`. */
export function wgQuickConfig(ctx: RegistryContext, peer: Pick<AdminPeerInfo, 'name' | 'publicKey' | 'tunnelIp'>): string {
  return [
    `# Porthole admin peer "${peer.name}" (${keyTag(peer.publicKey)})`,
    '[Interface]',
    `# PrivateKey = <the private key whose public key is ${peer.publicKey}>`,
    `Address = ${peer.tunnelIp}/32`,
    '',
    '[Peer]',
    '# The Porthole hub',
    `PublicKey = ${ctx.hub.publicKey}`,
    `Endpoint = ${ctx.hub.endpoint}`,
    `AllowedIPs = ${ctx.pool.cidr}`,
    `PersistentKeepalive = ${PERSISTENT_KEEPALIVE_SECONDS}`,
    '',
  ].join('\n');
}

export async function createAdminPeer(
  ctx: RegistryContext,
  input: { name: string; publicKey: string; createdBy?: string | null; /** Default: the default organisation. */ organizationId?: string },
): Promise<{ peer: AdminPeerInfo; config: string }> {
  if (!NAME_RE.test(input.name)) {
    throw new ValidationError('name must be 1-64 letters, digits, spaces or . _ @ ( ) -', { field: 'name' });
  }
  const publicKey = parsePublicKey(input.publicKey);
  const { row, changes } = await inTransaction(ctx.db, async (tx) => {
    await assertKeyFree(tx, publicKey, '');
    const tunnelIp = await takeTunnelIp(tx, ctx.pool);
    const [row] = await withDbErrors(
      () => tx.insert(adminPeers).values({ name: input.name, organizationId: input.organizationId ?? DEFAULT_ORGANIZATION_ID, publicKey, tunnelIp, createdBy: input.createdBy ?? null, createdAt: ctx.now() }).returning(),
      { admin_peers_public_key_unique: () => new ConflictError('publicKey is already registered to another peer', { field: 'publicKey' }) },
    );
    const changes = await recordChanges(tx, [{ kind: 'admin', op: 'upsert', publicKey, tunnelIp: row!.tunnelIp, name: row!.name, organizationId: row!.organizationId }]);
    return { row: row!, changes };
  });
  ctx.emit(changes);
  ctx.logger?.info('admin peer created', { peer: keyTag(publicKey), tunnelIp: row.tunnelIp });
  const peer = toInfo(row);
  return { peer, config: wgQuickConfig(ctx, peer) };
}

export async function listAdminPeers(ctx: RegistryContext): Promise<AdminPeerInfo[]> {
  const rows = await ctx.db.select().from(adminPeers).orderBy(asc(adminPeers.createdAt), asc(adminPeers.id));
  return rows.map(toInfo);
}

export async function deleteAdminPeer(ctx: RegistryContext, id: string): Promise<void> {
  if (!UUID_RE.test(id)) throw new NotFoundError(`admin peer ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'id' });
  const changes = await inTransaction(ctx.db, async (tx) => {
    const [row] = await tx.delete(adminPeers).where(eq(adminPeers.id, id)).returning();
    if (!row) throw new NotFoundError(`admin peer ${id} does not exist`, { field: 'id' });
    await freeTunnelIp(tx, ctx.pool, row.tunnelIp);
    return recordChanges(tx, [{ kind: 'admin', op: 'remove', publicKey: row.publicKey, tunnelIp: row.tunnelIp, name: row.name, organizationId: row.organizationId }]);
  });
  ctx.emit(changes);
}

