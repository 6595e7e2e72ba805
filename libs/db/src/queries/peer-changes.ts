// The peer change feed: every transaction that adds, changes or removes a WireGuard peer records
// what changed under a new version number. The version comes from one counter row, bumped last in
// the transaction and locked until commit, so versions become visible strictly in order and a
// follower that asks "what changed since N?" never skips one.
import { asc, gt, sql } from 'drizzle-orm';
import { resultRows, type Executor } from '../database.js';
import { peerChanges, type PeerChangeOp, type PeerKind } from '../schema/overlay.js';

export interface PeerChange {
  version: number;
  kind: PeerKind;
  op: PeerChangeOp;
  publicKey: string;
  tunnelIp: string;
  /** Device serial or admin peer name. */
  name: string;
  /** The peer's organisation; null (or absent) in changes recorded before it was. */
  organizationId?: string | null;
}

/** Records `changes` under one new version and returns it. Call as the transaction's last statement group. */
export async function recordPeerChanges(ex: Executor, changes: Omit<PeerChange, 'version'>[]): Promise<number> {
  const bump = sql`insert into registry_state as s (id, version) values (1, 1)
    on conflict (id) do update set version = s.version + 1 returning s.version`;
  if (changes.length === 0) {
    const [row] = resultRows<{ version: string | number }>(await ex.execute(bump));
    return Number(row!.version);
  }
  // One round trip: bump the version and insert the changes under it.
  const values = sql.join(
    changes.map((c) => sql`(${c.kind}, ${c.op}, ${c.publicKey}, ${c.tunnelIp}::inet, ${c.name}, ${c.organizationId ?? null}::uuid)`),
    sql`, `,
  );
  const [row] = resultRows<{ version: string | number }>(
    await ex.execute(sql`
      with v as (${bump})
      insert into peer_changes (version, kind, op, public_key, tunnel_ip, name, organization_id)
      select v.version, c.kind, c.op, c.public_key, c.tunnel_ip, c.name, c.organization_id
      from v, (values ${values}) as c(kind, op, public_key, tunnel_ip, name, organization_id)
      returning version`),
  );
  return Number(row!.version);
}

export async function currentPeerVersion(ex: Executor): Promise<number> {
  const [row] = resultRows<{ version: string | number }>(await ex.execute(sql`select version from registry_state where id = 1`));
  return row ? Number(row.version) : 0;
}

/** Changes after `version`, oldest first, at most `limit`. */
export async function peerChangesSince(ex: Executor, version: number, limit = 1000): Promise<PeerChange[]> {
  const rows = await ex
    .select({
      version: peerChanges.version,
      kind: peerChanges.kind,
      op: peerChanges.op,
      publicKey: peerChanges.publicKey,
      tunnelIp: sql<string>`host(${peerChanges.tunnelIp})`,
      name: peerChanges.name,
      organizationId: peerChanges.organizationId,
    })
    .from(peerChanges)
    .where(gt(peerChanges.version, version))
    .orderBy(asc(peerChanges.id))
    .limit(limit);
  return rows;
}
