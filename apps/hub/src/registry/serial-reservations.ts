// Serial prefixes reserved for enrollment tokens. Without a vendor CA, serials are first come, first
// served: an account could claim the serial of a genuine device before the device registers. A
// reserved prefix keeps account claims away from a fleet's serials; enrollment tokens (held by
// whoever provisions the devices) still register them.
import { asc, eq, sql } from 'drizzle-orm';
import { resultRows, serialReservations, users, type Executor } from '@porthole/db';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, withDbErrors } from '../errors.js';
import type { RegistryContext } from './context.js';

export interface SerialReservationInfo {
  prefix: string;
  description: string;
  createdBy: { id: string; email: string } | null;
  createdAt: string;
}

/** 403: the serial falls under a reserved prefix, so only an enrollment token may register it. */
export class SerialReservedError extends ForbiddenError {
  override readonly code: string = 'serial_reserved';
}

/** The start of a serial (a DNS label): letters, digits and hyphens, not starting with a hyphen. */
const PREFIX_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_DESCRIPTION = 200;

/** Lowercases and validates a prefix; throws ValidationError naming `prefix`. */
export function normalizePrefix(input: string): string {
  const prefix = input.trim().toLowerCase();
  if (!PREFIX_RE.test(prefix)) {
    const shown = JSON.stringify(input.length > 70 ? `${input.slice(0, 70)}…` : input);
    throw new ValidationError(`prefix ${shown} is not the start of a serial: use 1-63 letters, digits or hyphens, not starting with a hyphen`, {
      field: 'prefix',
    });
  }
  return prefix;
}

export async function listSerialReservations(ctx: RegistryContext): Promise<SerialReservationInfo[]> {
  const rows = await ctx.db
    .select({ r: serialReservations, email: users.email })
    .from(serialReservations)
    .leftJoin(users, eq(users.id, serialReservations.createdBy))
    .orderBy(asc(serialReservations.prefix));
  return rows.map(({ r, email }) => ({
    prefix: r.prefix,
    description: r.description,
    createdBy: r.createdBy && email ? { id: r.createdBy, email } : null,
    createdAt: r.createdAt.toISOString(),
  }));
}

export async function addSerialReservation(
  ctx: RegistryContext,
  input: { prefix: string; description?: string; createdBy: string | null },
): Promise<SerialReservationInfo> {
  const prefix = normalizePrefix(input.prefix);
  const description = (input.description ?? '').trim();
  if (description.length > MAX_DESCRIPTION || /[\u0000-\u001f\u007f]/.test(description)) {
    throw new ValidationError(`description must be one line of at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
  }
  await withDbErrors(
    () => ctx.db.insert(serialReservations).values({ prefix, description, createdBy: input.createdBy, createdAt: ctx.now() }),
    { serial_reservations_pkey: () => new ConflictError(`prefix ${prefix} is already reserved`, { field: 'prefix' }) },
  );
  ctx.logger?.info('serial prefix reserved', { prefix, userId: input.createdBy });
  const info = (await listSerialReservations(ctx)).find((r) => r.prefix === prefix);
  return info!;
}

export async function removeSerialReservation(ctx: RegistryContext, input: string): Promise<void> {
  const prefix = normalizePrefix(input);
  const removed = await ctx.db.delete(serialReservations).where(eq(serialReservations.prefix, prefix)).returning({ prefix: serialReservations.prefix });
  if (removed.length === 0) throw new NotFoundError(`prefix ${prefix} is not reserved`, { field: 'prefix' });
  ctx.logger?.info('serial prefix released', { prefix });
}

/** The reserved prefix that covers `serial` (normalised), if any. */
export async function reservedPrefixOf(ex: Executor, serial: string): Promise<string | undefined> {
  // Prefixes hold only [a-z0-9-]: comparing the serial's head avoids LIKE and its wildcards.
  const [row] = resultRows<{ prefix: string }>(
    await ex.execute(
      sql`select prefix from ${serialReservations} where left(${serial}, length(prefix)) = prefix order by length(prefix) desc limit 1`,
    ),
  );
  return row?.prefix;
}

/** Refuses an account's claim of a serial under a reserved prefix. */
export async function assertSerialClaimable(ex: Executor, serial: string): Promise<void> {
  const prefix = await reservedPrefixOf(ex, serial);
  if (prefix !== undefined) {
    throw new SerialReservedError(
      `serial ${serial} is reserved (prefix ${prefix}) for devices enrolled with an enrollment token; ask the fleet administrator for one`,
      { field: 'serial' },
    );
  }
}
