// The hub under fuzzing: startTestHub with two registered devices, a user with a grant, a pending
// claim and a read-only token, plus the portal and API apps as the hub mounts them for in-process
// requests.
import { Hono } from 'hono';
import type { DriverName } from '@porthole/db';
import { createTestDatabase } from '@porthole/db/testing';
import { apiRouteTable, createApiRoutes, createPortalRoutes, createTicketStore, type Hub, type RouteDef } from '@porthole/hub';
import { startTestHub } from '@porthole/hub/testing';

export interface FuzzHub {
  hub: Hub;
  /** The portal and API apps as the hub mounts them, for in-process requests. */
  app: Hono;
  port: number;
  adminToken: string;
  readToken: string;
  /** Registered devices (policy `owners`, offline): device hosts the edge inputs address. */
  serials: string[];
  userIds: string[];
  routes: RouteDef[];
  close(): Promise<void>;
}

/** A hub on PGlite in a temp dir, or on a fresh PostgreSQL database (`driver: 'postgres'`, faster for long runs). */
export async function startFuzzHub(options: { driver?: DriverName } = {}): Promise<FuzzHub> {
  const database = options.driver === 'postgres' ? await createTestDatabase('postgres') : undefined;
  // Peer status at the hub's own pace: the oracle compares the database before and after.
  const t = await startTestHub({ name: 'fuzz', deps: { statusFlushMs: undefined, ...(database ? { database } : {}) } });
  const { hub } = t;
  const { registry } = hub;
  const admin = (await registry.findUserByEmail(t.adminEmail))!;
  const user = await registry.signUp({ email: 'fuzz-user@example.io', password: t.adminPassword });
  const read = await registry.createApiToken({ userId: admin.id, name: 'fuzz read', scopes: ['read'] });
  const { token: enrollment } = await registry.createEnrollmentToken({ createdBy: admin.id, maxUses: 10 });
  const serials = ['fuzzdev1', 'fuzzdev2'];
  for (const [i, serial] of serials.entries()) {
    await registry.registerDevice({ serial, publicKey: Buffer.alloc(32, 0x41 + i).toString('base64'), enrollmentToken: enrollment });
  }
  await registry.grantAccess('fuzzdev1', { email: 'fuzz-user@example.io' });
  await registry.startClaim({ serial: 'fuzzclaim', publicKey: Buffer.alloc(32, 0x61).toString('base64') });

  const unlimited = { capacity: 1e9, refillPerSecond: 1e9 };
  const apiDeps = { registry, limits: { register: unlimited, claimStart: unlimited, claimPoll: unlimited } };
  const app = new Hono();
  app.route('/api/v1', createApiRoutes(apiDeps));
  app.route(
    '/',
    createPortalRoutes({ registry, tickets: createTicketStore(), portalOrigin: hub.portalUrl, deviceDomain: t.config.domain, secure: false, postLimit: unlimited }),
  );
  return {
    hub,
    app,
    port: t.httpPort,
    adminToken: t.adminToken,
    readToken: read.token,
    serials,
    userIds: [admin.id, user.id],
    routes: apiRouteTable(apiDeps) as unknown as RouteDef[],
    async close() {
      await t.close();
      await database?.drop();
    },
  };
}
