// Device registration (the contract in ARCHITECTURE.md): `{ serial, publicKey, enrollmentToken }`
// → a tunnel IP and the hub's WireGuard identity. One transaction takes the token's use, allocates
// the address, stores the device and records the peer change; repeating it with the same key is
// idempotent, a different key needs an approved rotation, and a key belongs to one peer only.
// With a device CA configured, every registration also carries an attestation (attestation.ts).
import { and, eq, gt, sql } from 'drizzle-orm';
import {
  adminPeers,
  devices,
  keyRotations,
  resultRows,
  type Executor,
} from '@porthole/db';
import { keyTag } from '@porthole/wireguard';
import { ConflictError, ForbiddenError, translateDbError, withDbErrors } from '../errors.js';
import { attestationColumns, type AttestationInput, type AttestationProof, type DeviceAttestor } from './attestation.js';
import { inTransaction, PERSISTENT_KEEPALIVE_SECONDS, recordChanges, type PendingPeerChange, type RegistryContext } from './context.js';
import { peerChange, type DeviceRow } from './devices.js';
import { checkEnrollmentTokenForRepeat, consumeEnrollmentToken } from './enrollment-tokens.js';
import { homeOrganizationOf } from './organizations.js';
import { takeTunnelIp } from './overlay-pool.js';
import { normalizeSerial } from './serial.js';
import { parsePublicKey } from './wireguard-key.js';

export interface Registration {
  serial: string;
  tunnelIp: string;
  overlayCidr: string;
  hub: { publicKey: string; endpoint: string; tunnelIp: string };
  url: string;
  persistentKeepalive: number;
}

export interface RegisterResult {
  /** True when this call created the device (HTTP 201), false when it repeated or rotated (200). */
  created: boolean;
  registration: Registration;
}

export interface RegisterInput {
  serial: string;
  publicKey: string;
  enrollmentToken: string;
  agentVersion?: string | undefined;
  /** Required when the hub has a device CA; ignored otherwise. */
  attestation?: AttestationInput | undefined;
}

export function registrationFor(ctx: RegistryContext, device: Pick<DeviceRow, 'serial' | 'tunnelIp'>): Registration {
  return {
    serial: device.serial,
    tunnelIp: device.tunnelIp,
    overlayCidr: ctx.pool.cidr,
    hub: { ...ctx.hub },
    url: ctx.deviceUrl(device.serial),
    persistentKeepalive: PERSISTENT_KEEPALIVE_SECONDS,
  };
}

/** Constraint → the domain error a concurrent duplicate becomes. */
export function registrationConstraintErrors(serial: string) {
  return {
    devices_public_key_unique: () => new ConflictError('publicKey is already registered to another device', { field: 'publicKey' }),
    devices_serial_unique: () => new ConflictError(`serial ${serial} is already registered`, { field: 'serial' }),
  };
}

/** Refuses a key that another device (other than `serial`) or an admin peer already uses. */
export async function assertKeyFree(tx: Executor, publicKey: string, serial: string): Promise<void> {
  const taken = resultRows(
    await tx.execute(sql`
      select 1 from ${devices} where public_key = ${publicKey} and serial <> ${serial}
      union all select 1 from ${adminPeers} where public_key = ${publicKey} limit 1`),
  );
  if (taken.length > 0) throw new ConflictError('publicKey is already registered to another peer', { field: 'publicKey' });
}

export interface NewDevice {
  serial: string;
  /** Default: the organisation of its owner (homeOrganizationOf), else the default organisation. */
  organizationId?: string;
  publicKey: string;
  ownerId?: string | null;
  tags?: string[];
  agentVersion?: string | null | undefined;
  enrollmentTokenId?: string | null;
  attestation?: AttestationProof | null;
}

/** Allocates an address and inserts an enabled device; returns the peer change to record. */
export async function insertDevice(ctx: RegistryContext, tx: Executor, input: NewDevice, now: Date): Promise<DeviceRow> {
  const tunnelIp = await takeTunnelIp(tx, ctx.pool);
  const organizationId = input.organizationId ?? (await homeOrganizationOf(tx, input.ownerId ?? null));
  // Unique violations are left untranslated here: the caller's transaction retries a concurrent
  // first registration of the same serial into the repeat path, and translates the rest.
  const [row] = await tx
    .insert(devices)
    .values({
      serial: input.serial,
      organizationId,
      publicKey: input.publicKey,
      tunnelIp,
      ownerId: input.ownerId ?? null,
      tags: input.tags ?? [],
      agentVersion: input.agentVersion ?? null,
      enrollmentTokenId: input.enrollmentTokenId ?? null,
      createdAt: now,
      registeredAt: now,
      ...attestationColumns(input.attestation, now),
    })
    .returning();
  return row!;
}

/**
 * Gives a device a new key, keeping its tunnel IP, once an owner or admin has approved it (an
 * approved rotation, or the approval of a claim). An attestation names one key, so the old one's
 * record goes with it and `attestation` (of the new key) replaces it. Returns the peer changes to record.
 */
export async function replaceDeviceKey(
  tx: Executor,
  row: DeviceRow,
  publicKey: string,
  now: Date,
  attestation?: AttestationProof | null,
): Promise<PendingPeerChange[]> {
  await assertKeyFree(tx, publicKey, row.serial);
  await withDbErrors(
    () => tx.update(devices).set({ publicKey, registeredAt: now, ...attestationColumns(attestation, now) }).where(eq(devices.id, row.id)),
    registrationConstraintErrors(row.serial),
  );
  await tx.delete(keyRotations).where(eq(keyRotations.deviceId, row.id));
  if (row.status !== 'enabled') return [];
  return [peerChange(row, 'remove'), peerChange({ ...row, publicKey }, 'upsert')];
}

/** A registration presenting a new key: allowed only with an unexpired approved rotation to exactly that key. */
async function rotateDeviceKey(tx: Executor, row: DeviceRow, publicKey: string, now: Date, attestation: AttestationProof | undefined): Promise<PendingPeerChange[]> {
  const [rotation] = await tx
    .select()
    .from(keyRotations)
    .where(and(eq(keyRotations.deviceId, row.id), eq(keyRotations.newPublicKey, publicKey), gt(keyRotations.expiresAt, now)));
  if (!rotation) {
    throw new ConflictError(`serial ${row.serial} is registered with another key; an owner or admin must approve a key rotation first`, {
      field: 'publicKey',
    });
  }
  return replaceDeviceKey(tx, row, publicKey, now, attestation);
}

/** `attestor` is the hub's device CA check; without one, registrations are not attested. */
export async function registerDevice(ctx: RegistryContext, input: RegisterInput, attestor?: DeviceAttestor): Promise<RegisterResult> {
  const serial = normalizeSerial(input.serial);
  const publicKey = parsePublicKey(input.publicKey);
  const now = ctx.now();
  // Before any database work: a device that cannot prove its serial changes nothing.
  const proof = attestor?.verify({ serial, publicKey, attestation: input.attestation, now });
  const outcome = await inTransaction(
    ctx.db,
    async (tx) => {
      const [existing] = await tx.select().from(devices).where(eq(devices.serial, serial)).for('update');
      if (existing) {
        if (existing.status === 'disabled') throw new ForbiddenError(`device ${serial} is disabled by an administrator`, { field: 'serial' });
        await checkEnrollmentTokenForRepeat(tx, input.enrollmentToken, existing.enrollmentTokenId, now);
        let pending: PendingPeerChange[] = [];
        if (existing.publicKey !== publicKey) {
          pending = await rotateDeviceKey(tx, existing, publicKey, now, proof);
        } else {
          const update = {
            ...(input.agentVersion !== undefined && input.agentVersion !== existing.agentVersion ? { agentVersion: input.agentVersion } : {}),
            // The record reflects the latest proof (a renewed certificate shows its new subject).
            ...(proof ? attestationColumns(proof, now) : {}),
          };
          if (Object.keys(update).length > 0) await tx.update(devices).set(update).where(eq(devices.id, existing.id));
        }
        return { created: false, device: existing, changes: await recordChanges(tx, pending) };
      }
      await assertKeyFree(tx, publicKey, serial);
      const token = await consumeEnrollmentToken(tx, input.enrollmentToken, now);
      const device = await insertDevice(
        ctx,
        tx,
        { serial, organizationId: token.organizationId, publicKey, tags: token.tags, agentVersion: input.agentVersion, enrollmentTokenId: token.id, attestation: proof ?? null },
        now,
      );
      return { created: true, device, changes: await recordChanges(tx, [peerChange(device, 'upsert')]) };
    },
    ['devices_serial_unique'],
  ).catch((err: unknown) => {
    throw translateDbError(err, registrationConstraintErrors(serial));
  });
  ctx.emit(outcome.changes);
  if (outcome.created) {
    ctx.logger?.info('device registered', { device: serial, peer: keyTag(publicKey), tunnelIp: outcome.device.tunnelIp, attested: proof !== undefined });
  }
  return { created: outcome.created, registration: registrationFor(ctx, outcome.device) };
}
