// The proxy's view of the registry: the device directory (rows cached briefly, reachability read
// live on every request), device sessions stored in the database, visitor authorisation and
// installer links, each mapping a link holder (principal link:<id>) to the link's own tables.
import { may } from './auth/authorization.js';
import type { Reachability } from './cluster/reachability.js';
import type { Logger } from './ops/logger.js';
import type { DeviceRoute, InstallerLinks, VisitorAuth } from './proxy/contracts.js';
import { createCachedDirectory, type CachedDirectory } from './proxy/device-directory.js';
import type { DeviceSessionStore } from './proxy/device-sessions.js';
import { linkIdOf, linkPrincipal, type Registry } from './registry/index.js';

/**
 * `directory` caches rows (the registry's changes invalidate it); `liveDirectory` is what the proxy
 * reads: the cached row with whether the device is reachable now (here, on another node, or offline).
 */
export function createRegistryDirectory(registry: Registry, reachability: Reachability, logger: Logger): { directory: CachedDirectory; liveDirectory: CachedDirectory } {
  const directory = createCachedDirectory({
    ttlMs: 5_000,
    async load(serial): Promise<DeviceRoute | undefined> {
      const device = await registry.findDeviceBySerial(serial);
      if (!device) return undefined;
      return {
        id: device.id,
        serial: device.serial,
        organizationId: device.organizationId,
        tunnelIp: device.tunnelIp,
        status: device.status,
        accessPolicy: device.accessPolicy,
        online: false, // replaced live below: the cache must not freeze it
        lastSeenAt: device.lastHandshakeAt ? new Date(device.lastHandshakeAt) : null,
        exposureUntil: device.exposureUntil ? new Date(device.exposureUntil) : null,
        exposureEndedAt: device.exposureEndedAt ? new Date(device.exposureEndedAt) : null,
      };
    },
    onLoadError: (serial, err) => logger.warn('device lookup failed', { device: serial, err: String(err) }),
  });
  const liveDirectory: CachedDirectory = Object.assign(Object.create(directory) as CachedDirectory, {
    async findBySerial(serial: string) {
      const route = await directory.findBySerial(serial);
      if (!route) return route;
      // In memory on every proxied request: here, held by another live node, or offline (and why).
      const reach = reachability.locate(route.tunnelIp);
      return { ...route, online: reach.kind !== 'offline', ...(reach.kind === 'offline' && reach.reason ? { offlineReason: reach.reason } : {}) };
    },
  });
  return { directory, liveDirectory };
}

/** Device sessions in the database; an installer link's holder has its sessions in link_sessions. */
export function registrySessionStore(registry: Registry): DeviceSessionStore {
  return {
    insert(tokenHash, s, createdIp) {
      const linkId = linkIdOf(s.userId);
      const common = { tokenHash, deviceId: s.deviceId, serial: s.serial, expiresAt: new Date(s.expiresMs), createdIp };
      return linkId === undefined
        ? registry.createDeviceSession({ ...common, userId: s.userId })
        : registry.createLinkSession({ ...common, linkId, readOnly: s.readOnly === true });
    },
    async find(tokenHash) {
      const row = await registry.findDeviceSession(tokenHash);
      if (row) return { userId: row.userId, deviceId: row.deviceId, serial: row.serial, expiresMs: row.expiresAt.getTime() };
      const link = await registry.findLinkSession(tokenHash);
      return link && { userId: linkPrincipal(link.linkId), deviceId: link.deviceId, serial: link.serial, expiresMs: link.expiresAt.getTime(), ...(link.readOnly ? { readOnly: true } : {}) };
    },
    async delete(tokenHash) {
      await registry.deleteDeviceSession(tokenHash);
      await registry.deleteLinkSession(tokenHash);
    },
  };
}

/** Who may open which device: a user by grant or organisation, an organisation token by its role, a link holder by its link. */
export function registryVisitorAuth(registry: Registry): VisitorAuth {
  return {
    canAccessDevice(userId, deviceId) {
      const linkId = linkIdOf(userId);
      return linkId === undefined ? registry.canAccessDevice(userId, deviceId) : registry.linkMayAccess(linkId, deviceId);
    },
    // A link's read-only flag is on its session; a user's comes from a read-only grant.
    readOnlyFor: async (userId, deviceId) => linkIdOf(userId) === undefined && registry.isReadOnlyGrantee(userId, deviceId),
    async userForBearerToken(token) {
      const principal = await registry.authenticateApiToken(token);
      if (!principal) return null;
      const { organizationId: org } = principal;
      // An organisation token acts for its organisation with its role, never with its maker's own rights.
      return { userId: principal.user.id, scopes: principal.scopes, ...(org ? { organization: { id: org, opensDevices: may(principal.actor, 'connect', org) } } : {}) };
    },
    inOrganization: (deviceId, organizationId) => registry.deviceInOrganization(deviceId, organizationId),
  };
}

/** Installer links opened on device hosts: a redeemed link acts as the principal link:<id>. */
export function registryInstallerLinks(registry: Registry): InstallerLinks {
  return {
    async redeem(token, deviceId) {
      const link = await registry.redeemDeviceLink(token, deviceId);
      if (!link.ok) return link.reason === 'unknown' ? { ok: false, reason: 'unknown' } : { ok: false, reason: link.reason, at: link.at };
      return { ok: true, principal: linkPrincipal(link.linkId), readOnly: link.readOnly, expiresAt: link.expiresAt };
    },
  };
}
