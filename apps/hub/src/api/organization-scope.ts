// How the API applies auth/authorization.ts to the registry: a device, token or peer of an
// organisation the caller cannot see is answered exactly as an unknown one (the registry's own
// not-found error for that id), and the organisation a new token or peer goes into is chosen here.
import { DEFAULT_ORGANIZATION_ID } from '@porthole/db';
import { authorize, canSee, may, organizationsWhere, visibleOrganizations, type Actor, type OrganizationAction } from '../auth/authorization.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { DeviceInfo, Registry } from '../registry/index.js';
import { deviceNotFound } from '../registry/devices.js';
import { normalizeSerial } from '../registry/serial.js';

/** The organisations a listing may show: undefined = no filter (a superadmin). */
export function organizationFilter(actor: Actor): readonly string[] | undefined {
  const visible = visibleOrganizations(actor);
  return visible === 'all' ? undefined : visible;
}

/** The device, when `actor` may do `action` on it; else the unknown-serial 404 (or 403 when it sees it). */
export async function deviceFor(registry: Registry, actor: Actor, serial: string, action: OrganizationAction): Promise<DeviceInfo> {
  const device = await registry.findDeviceBySerial(normalizeSerial(serial));
  if (!device) throw deviceNotFound(serial);
  authorize(actor, action, device.organizationId, () => deviceNotFound(serial));
  return device;
}

/** Checks `action` on a resource of `organizationId` whose unknown-id error is `notFound`. */
export function resourceFor(actor: Actor, action: OrganizationAction, organizationId: string | undefined, notFound: () => Error): void {
  if (organizationId === undefined) throw notFound();
  authorize(actor, action, organizationId, notFound);
}

/**
 * The organisation something new goes into. Named: it must be one the caller may do `action` in
 * (one it cannot see answers as unknown). Not named: a superadmin's default organisation (as
 * before organisations), else the one organisation where the caller may do it.
 */
export async function organizationForNew(registry: Registry, actor: Actor, named: string | undefined, action: OrganizationAction): Promise<string> {
  if (named !== undefined) {
    const unknown = () => new NotFoundError(`organization ${JSON.stringify(named.slice(0, 70))} does not exist`, { field: 'organizationId' });
    const org = await registry.findOrganization(named);
    if (!org) throw unknown();
    authorize(actor, action, org.id, unknown);
    return org.id;
  }
  if (actor.superadmin) return DEFAULT_ORGANIZATION_ID;
  const where = organizationsWhere(actor, action);
  if (where.length === 1) return where[0]!;
  if (where.length === 0) {
    // The caller sees organisations but may not do this in any: a plain 403 gives nothing away.
    const any = [...actor.memberships.keys()][0];
    authorize(actor, action, any ?? DEFAULT_ORGANIZATION_ID, () => new NotFoundError('no organization', { field: 'organizationId' }));
  }
  throw new ValidationError('organizationId: you act in several organizations; name one (or use --org)', { field: 'organizationId' });
}

/** The rows of organisations `actor` sees. */
export function visibleTo<R extends { organizationId: string }>(actor: Actor, rows: readonly R[]): R[] {
  return rows.filter((r) => canSee(actor, r.organizationId));
}

/** A create request's fields for the registry: in the organisation it goes into (organizationForNew), made by `createdBy`. */
export async function newInOrganization<B extends { organizationId?: string | undefined }>(
  registry: Registry,
  actor: Actor,
  createdBy: string,
  body: B,
  action: OrganizationAction,
): Promise<Omit<B, 'organizationId'> & { organizationId: string; createdBy: string }> {
  const { organizationId: named, ...rest } = body;
  return { ...rest, organizationId: await organizationForNew(registry, actor, named, action), createdBy };
}

/**
 * Checks `action` on the row of `rows` with this id: another organisation's answers as an unknown id
 * (`notFound`); an id not among them is left to the registry, which answers it the same way.
 */
export function ownedRow(actor: Actor, action: OrganizationAction, rows: readonly { id: string; organizationId: string }[], id: string, notFound: () => Error): void {
  const row = rows.find((r) => r.id === id.toLowerCase());
  if (row) resourceFor(actor, action, row.organizationId, notFound);
}

/** Whether `actor` manages a webhook endpoint of `organizationId` (null: a hub-wide one, the operator's). */
export function mayManageWebhook(actor: Actor, organizationId: string | null): boolean {
  return actor.superadmin || (organizationId !== null && may(actor, 'webhooks', organizationId));
}

export { canSee, organizationsWhere };

/** Matches no row: the owner filter of a caller that owns no personal token (an organisation token). */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
