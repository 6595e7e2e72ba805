// One way for tests to start a whole hub: createHub on PGlite in a temp data dir, HTTP on a free
// loopback port, WireGuard on a loopback UDP port, a bootstrap admin with an API token. Tests of the
// CLI, the agent, the browser pages and the fuzzer build on it (@porthole/hub/testing).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UdpBind } from '@porthole/wireguard';
import { freePort } from '../../../../test/support/free-port.js';
import type { HubConfig } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import { createHub, type Hub, type HubDeps } from '../hub.js';

export const TEST_ADMIN_EMAIL = 'admin@example.io';
export const TEST_ADMIN_PASSWORD = 'correct horse battery staple 42';

export interface TestHubOptions {
  /** More settings as PORTHOLE_* variables, over the defaults; a function gets the data dir. */
  env?: Record<string, string> | ((dataDir: string) => Record<string, string>);
  /** Files written into the data dir before the config is read (certificates, CA bundles). */
  files?: Record<string, string>;
  /** What devices are told to dial (default: the hub's own UDP address); a relay puts itself in the path. */
  wgEndpoint?: (udpPort: number) => string;
  /** The rest of createHub's deps (default: status written back every 200 ms). */
  deps?: Omit<HubDeps, 'config' | 'bind'>;
  /** Prefix of the temp data dir's name, so a leftover dir says which test made it. */
  name?: string;
  /** Configure the bootstrap admin (default true); without it the hub starts with no account. */
  admin?: boolean;
  /** The bootstrap admin's API token (default: a random one). */
  adminToken?: string;
  /** Use this data dir, and leave it on close (default: a new temp dir, removed on close). */
  dataDir?: string;
  /** HTTP port (default: a free one) and WireGuard UDP port (default: any) on 127.0.0.1. */
  httpPort?: number;
  udpPort?: number;
  /**
   * The WireGuard UDP address (default 127.0.0.1): 0.0.0.0 or a namespace's own address for a hub
   * that devices on other hosts dial. The HTTP side follows PORTHOLE_LISTEN_HOST in `env`.
   */
  udpHost?: string;
  /**
   * The hub's WireGuard socket. 'test' (default): one UdpBind read on the main thread, opened here.
   * 'production': the hub opens its own as `npm start` does (PORTHOLE_WG_INGRESS_THREAD and
   * PORTHOLE_WG_PEER_SOCKETS from `env`, both on by default), on PORTHOLE_LISTEN_HOST (127.0.0.1
   * unless `env` says otherwise) and a port found free on `udpHost`.
   */
  wireguardSocket?: 'test' | 'production';
}

export interface TestHub {
  /** The running hub (a new object after restart()). */
  readonly hub: Hub;
  readonly config: HubConfig;
  readonly dataDir: string;
  readonly httpPort: number;
  readonly udpPort: number;
  /** http://localhost:<httpPort>: the portal and API origin. */
  readonly url: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
  /** The bootstrap admin's API token. */
  readonly adminToken: string;
  /** Closes the hub and starts a new one on the same data dir, HTTP port and UDP port (devices keep their address). */
  restart(): Promise<{ downMs: number }>;
  close(): Promise<void>;
}

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `porthole-${options.name ?? 'test'}-hub-`));
  const removeDir = () => ownDir && rmSync(dataDir, { recursive: true, force: true });
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dataDir, name), content);
  const httpPort = options.httpPort ?? (await freePort());
  const adminToken = options.adminToken ?? `ph_api_${randomBytes(24).toString('base64url')}`;
  const udpHost = options.udpHost ?? '127.0.0.1';
  const production = options.wireguardSocket === 'production';
  let bind: UdpBind | undefined = await UdpBind.open({ host: udpHost, ...(options.udpPort ? { port: options.udpPort } : {}) });
  const udpPort = bind.localPort!;
  if (production) {
    // Only a free port was wanted: the hub binds it itself, with its ingress thread.
    await bind.close();
    bind = undefined;
  }
  const extra = typeof options.env === 'function' ? options.env(dataDir) : options.env;
  const config = loadConfig(
    {
      PORTHOLE_DATA_DIR: dataDir,
      PORTHOLE_HTTP_PORT: String(httpPort),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: options.wgEndpoint?.(udpPort) ?? `${udpHost === '0.0.0.0' ? '127.0.0.1' : udpHost}:${udpPort}`,
      ...(options.admin === false ? {} : { PORTHOLE_ADMIN_EMAIL: TEST_ADMIN_EMAIL, PORTHOLE_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD, PORTHOLE_ADMIN_TOKEN: adminToken }),
      PORTHOLE_SHUTDOWN_GRACE_MS: '500',
      ...(production ? { PORTHOLE_WG_PORT: String(udpPort) } : {}),
      ...extra,
    },
    (path) => readFileSync(path, 'utf8'),
  );
  const deps = { statusFlushMs: 200, ...options.deps };
  let hub: Hub;
  try {
    hub = await createHub({ ...deps, config, ...(bind ? { bind } : {}) });
    await hub.listen();
  } catch (err) {
    // A hub that refuses to start (a test may expect that) leaves no socket or data dir behind.
    await bind?.close();
    removeDir();
    throw err;
  }
  return {
    get hub() {
      return hub;
    },
    config,
    dataDir,
    httpPort,
    udpPort,
    url: `http://localhost:${httpPort}`,
    adminEmail: TEST_ADMIN_EMAIL,
    adminPassword: TEST_ADMIN_PASSWORD,
    adminToken,
    async restart() {
      await hub.close();
      const down = performance.now();
      bind = production ? undefined : await UdpBind.open({ host: udpHost, port: udpPort });
      hub = await createHub({ ...deps, config, ...(bind ? { bind } : {}) });
      await hub.listen();
      return { downMs: performance.now() - down };
    },
    async close() {
      await hub.close();
      removeDir();
    },
  };
}
