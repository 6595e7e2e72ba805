// The registry: one object the hub wires, owning every database-backed flow (registration, claims,
// accounts, tokens, devices, admin peers, access log) and the peer feed the data plane follows.
import type { Database } from '@porthole/db';
import type { Logger } from '../ops/logger.js';
import * as apiTokens from '../auth/api-tokens.js';
import * as sessions from '../auth/sessions.js';
import * as accessLog from './access-log.js';
import * as accessLogSearch from './access-log-search.js';
import { createDeviceAttestor, parseCaBundle } from './attestation.js';
import { sharedBudget } from './throttles.js';
import { createAccounts, type LoginThrottleOptions } from './accounts.js';
import { createClaims } from './claims.js';
import * as adminBootstrap from './admin-bootstrap.js';
import * as adminPeers from './admin-peers.js';
import type { HubIdentity, RegistryContext } from './context.js';
import * as devices from './devices.js';
import * as deviceExposure from './device-exposure.js';
import * as deviceSessions from './device-sessions.js';
import * as deviceAdmin from './device-admin.js';
import * as deviceLinks from './device-links.js';
import * as enrollment from './enrollment-tokens.js';
import * as grants from './grants.js';
import { parseOverlayCidr } from './overlay-pool.js';
import * as feed from './peer-feed.js';
import * as overview from './fleet-overview.js';
import * as orgs from './organizations.js';
import * as registration from './registration.js';
import * as reservations from './serial-reservations.js';
import * as webhooks from './webhooks.js';

export type { HubIdentity, RegistryContext } from './context.js';
export type { DeviceInfo, DevicePage, ListDevicesQuery } from './devices.js';
export type { Registration, RegisterInput, RegisterResult } from './registration.js';
export type { EnrollmentTokenInfo, CreateEnrollmentTokenInput } from './enrollment-tokens.js';
export type { AdminPeerInfo } from './admin-peers.js';
export type { AccessLogQuery, AccessLogRecord, NewAccessLogRecord } from './access-log.js';
export type { Peer, PeerSet, PeerChanges, PeerStatus, PeerChangeListener } from './peer-feed.js';
export type { GrantInfo } from './grants.js';
export type { DeviceLinkInfo, LinkRedemption } from './device-links.js';
export { linkIdOf, linkPrincipal } from './device-links.js';
export type { DeviceSort, SearchDevicesQuery } from './device-admin.js';
export type { FleetOverview } from './fleet-overview.js';
export type { OrganizationInfo, MemberInfo } from './organizations.js';
export type { AccessLogSearch, AccessLogRow } from './access-log-search.js';
export type { ApiTokenInfo, ApiPrincipal, CreateApiTokenInput } from '../auth/api-tokens.js';
export type { SessionUser } from '../auth/sessions.js';
export type { LoginResult, LoginThrottleOptions } from './accounts.js';
export type { ClaimStart, ClaimPoll, ClaimView } from './claims.js';
export type { DeviceSessionRecord, DeviceSessionsEnded, DeviceSessionsEndedListener } from './device-sessions.js';
export { ExpiredTokenError, AccessDeniedError, SlowDownError } from './claims.js';
export type { StartClaimInput } from './claims.js';
export type { AttestationInput, AttestationProof } from './attestation.js';
export { AttestationInvalidError, AttestationRequiredError, attestationMessage } from './attestation.js';
export type { SerialReservationInfo } from './serial-reservations.js';
export { SerialReservedError } from './serial-reservations.js';

export interface RegistryOptions {
  db: Database;
  /** Default 100.64.0.0/10. */
  overlayCidr?: string;
  /** The hub's WireGuard identity; `tunnelIp` defaults to the overlay's first host address. */
  hub: Omit<HubIdentity, 'tunnelIp'> & { tunnelIp?: string };
  /** The portal's base URL (claim verification links), e.g. `https://portal.example.io`. */
  portalUrl: string;
  /** Public URL of a device, e.g. serial → `https://an1.example.io/`. */
  deviceUrl: (serial: string) => string;
  clock?: () => Date;
  logger?: Logger;
  loginThrottle?: LoginThrottleOptions;
  /** PEM CA certificates (PORTHOLE_DEVICE_CA_FILE): registrations and claims must then be attested. */
  deviceCaPem?: string;
}

export function createRegistry(options: RegistryOptions) {
  const pool = parseOverlayCidr(options.overlayCidr ?? '100.64.0.0/10');
  const logger = options.logger?.child({ component: 'registry' });
  const emitter = feed.createChangeEmitter((err) => logger?.error('peer change listener failed', { err }));
  const ctx: RegistryContext = {
    db: options.db,
    now: options.clock ?? (() => new Date()),
    pool,
    hub: { publicKey: options.hub.publicKey, endpoint: options.hub.endpoint, tunnelIp: options.hub.tunnelIp ?? pool.hubIp },
    deviceUrl: options.deviceUrl,
    logger,
    emit: emitter.emit,
  };

  const accounts = createAccounts(ctx, options.loginThrottle);
  const attestor = options.deviceCaPem === undefined ? undefined : createDeviceAttestor(trustedCas(options.deviceCaPem));
  const claims = createClaims(ctx, options.portalUrl, attestor);

  return {
    context: ctx,

    // Accounts, sessions, API tokens.
    ...accounts,
    /** A per-address budget counted in the throttles table (shared by every node of a cluster). */
    sharedBudget: (purpose: string, rate: { capacity: number; refillPerSecond: number }) => sharedBudget(ctx, purpose, rate),
    /** The first admin on an empty database, with the outcome in the log (PORTHOLE_ADMIN_*). */
    bootstrapAdmin: (input: adminBootstrap.AdminCredentials) => adminBootstrap.bootstrapAdminAtStart(ctx, input),
    /** Creates or resets the admin account the values name (`set-admin`). */
    setAdmin: (input: adminBootstrap.AdminCredentials) => adminBootstrap.setAdmin(ctx, input),
    userForSessionToken: (token: string) => sessions.userForSessionToken(ctx, token),
    deleteUserSessions: (userId: string) => sessions.deleteUserSessions(ctx, userId),
    // Device sessions (the proxy's cookie sessions on device hosts).
    createDeviceSession: (input: deviceSessions.DeviceSessionRecord & { createdIp: string | null }) => deviceSessions.createDeviceSession(ctx, input),
    findDeviceSession: (tokenHash: string) => deviceSessions.findDeviceSession(ctx, tokenHash),
    deleteDeviceSession: (tokenHash: string) => deviceSessions.deleteDeviceSession(ctx, tokenHash),
    deleteUserDeviceSessions: (userId: string) => deviceSessions.deleteUserDeviceSessions(ctx, userId),
    onDeviceSessionsEnded: (listener: deviceSessions.DeviceSessionsEndedListener) => deviceSessions.onDeviceSessionsEnded(ctx, listener),
    createApiToken: (input: apiTokens.CreateApiTokenInput) => apiTokens.createApiToken(ctx, input),
    listApiTokens: (userId?: string) => apiTokens.listApiTokens(ctx, userId),
    revokeApiToken: (id: string, userId?: string) => apiTokens.revokeApiToken(ctx, id, userId),
    createOrganizationToken: (input: Parameters<typeof apiTokens.createOrganizationToken>[1]) => apiTokens.createOrganizationToken(ctx, input),
    listOrganizationTokens: (organizationId: string) => apiTokens.listOrganizationTokens(ctx, organizationId),
    revokeOrganizationToken: (organizationId: string, id: string) => apiTokens.revokeOrganizationToken(ctx, organizationId, id),
    authenticateApiToken: (token: string) => apiTokens.authenticateApiToken(ctx, token),

    overlay: pool,
    hub: ctx.hub,

    // Registration and the data plane's view.
    registerDevice: (input: registration.RegisterInput) => registration.registerDevice(ctx, input, attestor),
    /** True when registrations and claims must carry a device attestation. */
    requiresAttestation: attestor !== undefined,
    registrationFor: (serial: string, tunnelIp: string) => registration.registrationFor(ctx, { serial, tunnelIp }),
    listPeers: () => feed.listPeers(ctx),
    changesSince: (version: number, limit?: number) => feed.changesSince(ctx, version, limit),
    onChange: emitter.onChange,
    recordPeerStatus: (statuses: readonly feed.PeerStatus[]) => feed.recordPeerStatus(ctx, statuses),

    // Owner claims (RFC 8628 style).
    ...claims,

    // Devices.
    listDevices: (query?: devices.ListDevicesQuery) => devices.listDevices(ctx, query),
    getDevice: (serial: string) => devices.getDevice(ctx, serial),
    findDeviceBySerial: (serial: string) => devices.findDeviceBySerial(ctx, serial),
    setDeviceStatus: (serial: string, status: 'enabled' | 'disabled') => devices.setDeviceStatus(ctx, serial, status),
    setAccessPolicy: (serial: string, policy: 'owners' | 'public') => devices.setAccessPolicy(ctx, serial, policy),
    setDeviceOwner: (serial: string, ownerId: string | null) => devices.setDeviceOwner(ctx, serial, ownerId),
    deleteDevice: (serial: string) => devices.deleteDevice(ctx, serial),
    approveKeyRotation: (serial: string, publicKey: string, approvedBy: string | null) =>
      devices.approveKeyRotation(ctx, serial, publicKey, approvedBy),
    canAccessDevice: (userId: string | null, deviceId: string) => devices.canAccessDevice(ctx, userId, deviceId),
    deviceInOrganization: (deviceId: string, organizationId: string) => devices.deviceInOrganization(ctx, deviceId, organizationId),
    searchDevices: (query?: deviceAdmin.SearchDevicesQuery) => deviceAdmin.searchDevices(ctx, query),
    setDevicesStatus: (serials: readonly string[], status: 'enabled' | 'disabled') => deviceAdmin.setDevicesStatus(ctx, serials, status),
    setDeviceTags: (serial: string, tags: readonly string[]) => deviceAdmin.setDeviceTags(ctx, serial, tags),
    fleetOverview: (minutes?: number) => overview.fleetOverview(ctx, minutes),
    // The owner's exposure window, as the agent reports it over the control channel.
    reportDeviceExposure: (tunnelIp: string, until: Date | null) => deviceExposure.reportDeviceExposure(ctx, tunnelIp, until),
    endDeviceExposure: (tunnelIp: string, endedAt: Date) => deviceExposure.endDeviceExposure(ctx, tunnelIp, endedAt),

    // Installer links and the device sessions of their holders.
    createDeviceLink: (serial: string, input: deviceLinks.CreateDeviceLinkInput) => deviceLinks.createDeviceLink(ctx, serial, input),
    listDeviceLinks: (serial: string) => deviceLinks.listDeviceLinks(ctx, serial),
    revokeDeviceLink: (serial: string, linkId: string) => deviceLinks.revokeDeviceLink(ctx, serial, linkId),
    redeemDeviceLink: (token: string, deviceId: string) => deviceLinks.redeemDeviceLink(ctx, token, deviceId),
    createLinkSession: (input: deviceLinks.LinkSessionRecord & { createdIp: string | null }) => deviceLinks.createLinkSession(ctx, input),
    findLinkSession: (tokenHash: string) => deviceLinks.findLinkSession(ctx, tokenHash),
    deleteLinkSession: (tokenHash: string) => deviceLinks.deleteLinkSession(ctx, tokenHash),
    linkMayAccess: (linkId: string, deviceId: string) => deviceLinks.linkMayAccess(ctx, linkId, deviceId),
    describeDeviceLink: (linkId: string) => deviceLinks.describeLink(ctx, linkId),

    // Organisations and members (who may see and change them: auth/authorization.ts).
    createOrganization: (input: { name: string }) => orgs.createOrganization(ctx, input),
    listOrganizations: (ids: 'all' | readonly string[]) => orgs.listOrganizations(ctx, ids),
    findOrganization: (idOrName: string) => orgs.findOrganization(ctx, idOrName),
    membershipsOf: (userId: string) => orgs.membershipsOf(ctx.db, userId),
    listMembers: (organizationId: string) => orgs.listMembers(ctx, organizationId),
    deleteOrganization: (id: string) => orgs.deleteOrganization(ctx, id),
    organizationsForNewDevices: (user: { id: string; role: string }) => orgs.organizationsForNewDevices(ctx.db, user),
    setMember: (organizationId: string, input: { email: string; role: string }) => orgs.setMember(ctx, organizationId, input),
    removeMember: (organizationId: string, userId: string) => orgs.removeMember(ctx, organizationId, userId),

    // Grants.
    listGrants: (serial: string) => grants.listGrants(ctx, serial),
    grantAccess: (serial: string, input: grants.GrantInput) => grants.grantAccess(ctx, serial, input),
    revokeGrant: (serial: string, userId: string) => grants.revokeGrant(ctx, serial, userId),
    isReadOnlyGrantee: (userId: string, deviceId: string) => grants.isReadOnlyGrantee(ctx, userId, deviceId),

    // Enrollment tokens.
    createEnrollmentToken: (input: enrollment.CreateEnrollmentTokenInput) => enrollment.createEnrollmentToken(ctx, input),
    listEnrollmentTokens: () => enrollment.listEnrollmentTokens(ctx),
    revokeEnrollmentToken: (id: string) => enrollment.revokeEnrollmentToken(ctx, id),

    // Serial prefixes only enrollment tokens may register.
    listSerialReservations: () => reservations.listSerialReservations(ctx),
    addSerialReservation: (input: { prefix: string; description?: string; createdBy: string | null }) => reservations.addSerialReservation(ctx, input),
    removeSerialReservation: (prefix: string) => reservations.removeSerialReservation(ctx, prefix),

    // Admin peers.
    createAdminPeer: (input: { name: string; publicKey: string; createdBy?: string | null; organizationId?: string }) => adminPeers.createAdminPeer(ctx, input),
    listAdminPeers: () => adminPeers.listAdminPeers(ctx),
    deleteAdminPeer: (id: string) => adminPeers.deleteAdminPeer(ctx, id),

    // Webhook endpoints and the outbox of their deliveries.
    createWebhook: (input: Parameters<typeof webhooks.createWebhook>[1]) => webhooks.createWebhook(ctx, input),
    listWebhooks: () => webhooks.listWebhooks(ctx),
    deleteWebhook: (id: string) => webhooks.deleteWebhook(ctx, id),
    enqueueWebhookEvent: (event: string, body: string, options?: Parameters<typeof webhooks.enqueueWebhookEvent>[3]) => webhooks.enqueueWebhookEvent(ctx, event, body, options),
    claimDueDeliveries: (limit: number, leaseMs: number) => webhooks.claimDueDeliveries(ctx, limit, leaseMs),
    recordDeliveryAttempt: (id: number, outcome: Parameters<typeof webhooks.recordDeliveryAttempt>[2]) => webhooks.recordDeliveryAttempt(ctx, id, outcome),
    listWebhookDeliveries: (limit?: number, organizationIds?: readonly string[]) => webhooks.listWebhookDeliveries(ctx, limit, organizationIds),
    pruneWebhookDeliveries: (before: Date) => webhooks.pruneWebhookDeliveries(ctx, before),

    // Access log.
    appendAccessLog: (entries: readonly accessLog.NewAccessLogRecord[]) => accessLog.appendAccessLog(ctx, entries),
    queryAccessLog: (query: accessLog.AccessLogQuery) => accessLog.queryAccessLog(ctx, query),
    searchAccessLog: (query: accessLogSearch.AccessLogSearch) => accessLogSearch.searchAccessLog(ctx, query),
  };
}

/** The CA certificates of a bundle; the config loader has reported its problems already. */
function trustedCas(pem: string) {
  const { certificates, problems } = parseCaBundle(pem);
  if (problems.length > 0) throw new Error(`device CA certificates: ${problems.join('; ')}`);
  return certificates;
}

export type Registry = ReturnType<typeof createRegistry>;
