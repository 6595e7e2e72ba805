// Everything the NAT lab runs: the namespaces, a fresh PostgreSQL database reached through the
// test's relay, the hub (`npm start`'s main.ts) in `public`, and the demo meter with its embedded
// agent in `lan`. Each piece is started by the real entry point with PORTHOLE_* configuration.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createTestDatabase, postgresTestUrl, type TestDatabase } from '@porthole/db/testing';
import { adminApi, curl, type CurlOptions, type CurlReply } from './curl.js';
import { startPgRelay, type PgRelay } from './pg-relay.js';
import { startService, TSX, type Service } from './service.js';
import { createNatLab, HUB_IP, type NatLab } from './topology.js';

export const DOMAIN = 'porthole.test';
export const PORTAL = `http://${DOMAIN}`;
export const SERIAL = 'an12345678';
export const DEVICE_HOST = `${SERIAL}.${DOMAIN}`;
export const METER_PORT = 8080;
export const METER_PASSWORD = 'meter-e2e-password';
export const ADMIN = { email: 'admin@porthole.test', password: 'e2e admin password 0123', token: `ph_api_${randomBytes(24).toString('base64url')}` };
export const OWNER = { email: 'owner@porthole.test', password: 'owner password 0123456' };
/** Chromium: every lab host name goes to the hub's public address. */
export const HOST_RULES = `MAP ${DOMAIN} ${HUB_IP}, MAP *.${DOMAIN} ${HUB_IP}`;

export interface World {
  readonly lab: NatLab;
  readonly db: TestDatabase;
  readonly relay: PgRelay;
  readonly hub: Service;
  readonly meter: Service;
  readonly dataDir: string;
  /** Stops the hub (SIGTERM, graceful) and starts it again on the same data and database. */
  restartHub(): Promise<{ stoppedAt: number; listeningAt: number }>;
  /** The admin REST API, called from `visitor`. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** curl from `visitor` with every lab name resolved to the hub. */
  visit(url: string, options?: CurlOptions): Promise<CurlReply>;
  /** Resolves every lab host to the hub (for curl). */
  resolve(...hosts: string[]): Record<string, string>;
  close(): Promise<void>;
}

function hubEnv(dataDir: string, databaseUrl: string): Record<string, string> {
  return {
    PORTHOLE_DOMAIN: DOMAIN,
    PORTHOLE_LISTEN_HOST: '0.0.0.0',
    PORTHOLE_HTTP_PORT: '80',
    PORTHOLE_WG_PORT: '51820',
    PORTHOLE_WG_ENDPOINT: `${HUB_IP}:51820`,
    PORTHOLE_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    PORTHOLE_ADMIN_EMAIL: ADMIN.email,
    PORTHOLE_ADMIN_PASSWORD: ADMIN.password,
    PORTHOLE_ADMIN_TOKEN: ADMIN.token,
    PORTHOLE_LOG_LEVEL: 'info',
  };
}

export async function startWorld(): Promise<World> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => console.warn(`e2e cleanup: ${String(err)}`));
  };
  try {
    const lab = await createNatLab();
    cleanups.push(() => lab.close());
    lab.setHosts(lab.lan, { [DOMAIN]: HUB_IP });

    const dataDir = mkdtempSync(join(tmpdir(), 'e2e-lab-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));

    // A fresh database for this run, migrated; the hub reaches it only through the relay.
    const db = await createTestDatabase('postgres');
    cleanups.push(() => db.drop());
    const server = new URL(postgresTestUrl());
    const relay = await startPgRelay(lab.public, { host: server.hostname || '127.0.0.1', port: Number(server.port || 5432) });
    cleanups.push(() => relay.close());
    const hubDbUrl = new URL(db.url!);
    hubDbUrl.hostname = '127.0.0.1';
    hubDbUrl.port = String(relay.port);

    const env = hubEnv(join(dataDir, 'hub'), hubDbUrl.toString());
    const startHub = () => startService(lab.public, 'hub', TSX, ['apps/hub/src/main.ts'], env);
    let hub = startHub();
    cleanups.push(() => hub.stop());
    await hub.waitFor((l) => l.msg === 'listening', 'the hub to listen', 60_000);

    const meter = startService(lab.lan, 'meter', TSX, ['apps/demo-meter/src/main.ts', '--port', String(METER_PORT), '--host', '0.0.0.0'], {
      PORTHOLE_AGENT_HUB_URL: PORTAL,
      PORTHOLE_AGENT_SERIAL: SERIAL,
      PORTHOLE_AGENT_STATE_DIR: join(dataDir, 'agent'),
      METER_PASSWORD,
    });
    cleanups.push(() => meter.stop());
    await meter.waitFor((l) => l.msg === 'demo meter listening', 'the meter to listen', 60_000);

    const resolve = (...hosts: string[]) => Object.fromEntries([DOMAIN, DEVICE_HOST, ...hosts].map((h) => [h, HUB_IP]));
    const visit = (url: string, options: CurlOptions = {}) => curl(lab.visitor, url, { ...options, resolve: { ...resolve(new URL(url).hostname), ...options.resolve } });

    return {
      lab,
      db,
      relay,
      get hub() {
        return hub;
      },
      meter,
      dataDir,
      async restartHub() {
        await hub.stop(15_000);
        const stoppedAt = Date.now();
        hub = startHub();
        await hub.waitFor((l) => l.msg === 'listening', 'the restarted hub to listen', 60_000);
        return { stoppedAt, listeningAt: Date.now() };
      },
      api: adminApi(visit, `${PORTAL}/api/v1`, ADMIN.token),
      visit,
      resolve,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What must survive a hub restart: every device's identity, key, address, owner and status. */
export async function registrationRows(world: World): Promise<Record<string, unknown>[]> {
  const rows = (await world.db.db.execute(
    sql`select serial, public_key, tunnel_ip, owner_id, status, access_policy from devices order by serial`,
  )) as unknown as Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(rows) ? [...rows] : rows.rows;
}
