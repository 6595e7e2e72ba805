// Everything the cluster lab runs: its network (topology.ts), its own PostgreSQL
// (postgres.ts), three hub nodes as real processes (`node --import tsx apps/hub/src/main.ts` with the
// cluster settings: one database, one WireGuard key file, one secret file), HAProxy from Debian in
// front of them, two agents behind the NAT (real `porthole-agent` processes, each with a small web
// server on its LAN as the device), and helpers to reach all of it from the visitor side.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApi, curl, curlSha256, type CurlOptions, type CurlReply } from '../../e2e/lab/curl.js';
import { REPO_ROOT, startService, type Service } from '../../e2e/lab/service.js';
import { createClusterNet, LB_IP, nodeIp, PG_IP, type ClusterNet } from './topology.js';
import { startLabPostgres, type LabPostgres } from './postgres.js';

export const DOMAIN = 'cluster.test';
export const PORTAL_HOST = `portal.${DOMAIN}`;
export const PORTAL = `http://${PORTAL_HOST}`;
export const NODES = 3;

export interface ClusterLabOptions {
  /** Hub nodes started (default 3). */
  nodes?: number;
  /** Where each site's agent registers (lanA, lanB): through HAProxy or straight at node n. Default ['lb', 3]. */
  agentsVia?: Array<'lb' | number>;
  /** Size of each device's big file (default 20 MB). */
  bigBytes?: number;
}
export const ADMIN = { email: 'admin@cluster.test', password: 'cluster lab admin 0123', token: `ph_api_${randomBytes(24).toString('base64url')}` };
/** Bytes of the big file each device serves (sha256 checked end to end). */
export const BIG_BYTES = 20 * 1024 * 1024;
export const DEVICE_PORT = 8000;

export interface LabAgent {
  readonly serial: string;
  readonly service: Service;
  readonly bigSha256: string;
}

export interface NodeOverrides {
  /** Another WireGuard key file (a node that must refuse to start). */
  wgKeyFile?: string;
  /** Another cluster secret file (a node the others must refuse). */
  secretFile?: string;
  name?: string;
}

export interface ClusterLab {
  readonly net: ClusterNet;
  readonly pg: LabPostgres;
  /** Node n (1-based) as it runs now (restarts replace it). */
  node(n: number): Service;
  nodeName(n: number): string;
  startNode(n: number, overrides?: NodeOverrides): Service;
  /** Waits for node n's `listening` log line. */
  nodeListening(n: number, timeoutMs?: number): Promise<void>;
  readonly haproxy: Service;
  /** Rewrites HAProxy's backend to these nodes and restarts it; resolves once they are in rotation. */
  setBalancerNodes(nodes: number[]): Promise<void>;
  readonly agents: LabAgent[];
  readonly dir: string;
  /** Files made for the refusal scenarios: another WireGuard key, another secret. */
  readonly wrongKeyFile: string;
  readonly wrongSecretFile: string;
  readonly secret: string;
  /** curl from the visitor side, through HAProxy (`via` 'lb') or straight to node n. */
  visit(url: string, options?: CurlOptions & { via?: 'lb' | number }): Promise<CurlReply>;
  sha256(url: string, options?: CurlOptions & { via?: 'lb' | number }): Promise<{ status: number; bytes: number; sha256: string; seconds: number }>;
  /** The admin REST API from the visitor side (through HAProxy unless `via`). */
  api(method: string, path: string, body?: unknown, via?: 'lb' | number): Promise<{ status: number; json: any }>;
  /** The node holding a device's session, by the API's `node` field (null: offline). */
  holder(serial: string, via?: 'lb' | number): Promise<string | null>;
  close(): Promise<void>;
}

export function haproxyConfig(nodes: number[]): string {
  const servers = nodes.map((n) => `    server node${n} ${nodeIp(n)}:80`).join('\n');
  // `hub` takes the nodes that are ready, `hub_alive` those that merely answer: the same servers,
  // checked on another path.
  const backend = (name: string, checkPath: string) => `backend ${name}
    balance roundrobin
    http-request disable-l7-retry unless METH_GET or METH_OPTIONS
    option httpchk
    http-check send meth GET uri ${checkPath} ver HTTP/1.1 hdr Host ${PORTAL_HOST}
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2
${servers}
`;
  return `global
    log stdout format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response 503

frontend web
    bind ${LB_IP}:80
    option forwardfor
    # No node ready (/readyz fails without the database): nodes that are alive still serve the
    # devices they hold (infra/haproxy/porthole-cluster.cfg does the same).
    use_backend hub_alive if { nbsrv(hub) eq 0 }
    default_backend hub

${backend('hub', '/readyz')}
${backend('hub_alive', '/healthz')}`;
}

export async function startClusterLab(options: ClusterLabOptions = {}): Promise<ClusterLab> {
  const nodeCount = options.nodes ?? NODES;
  const agentsVia = options.agentsVia ?? ['lb', 3];
  const bigBytes = options.bigBytes ?? BIG_BYTES;
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => console.warn(`cluster lab cleanup: ${String(err)}`));
  };
  try {
    const net = await createClusterNet(nodeCount);
    cleanups.push(() => net.close());
    const dir = mkdtempSync(join(tmpdir(), 'k2-cluster-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));

    const pg = await startLabPostgres(net.dc, PG_IP);
    cleanups.push(() => pg.close());
    await pg.sql('postgres', 'create database porthole');

    const secret = randomBytes(32).toString('base64url');
    const secretFile = join(dir, 'cluster-secret');
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    const wgKeyFile = join(dir, 'hub-wg.key');
    writeFileSync(wgKeyFile, execFileSync('wg', ['genkey']), { mode: 0o600 });
    const wrongKeyFile = join(dir, 'other-wg.key');
    writeFileSync(wrongKeyFile, execFileSync('wg', ['genkey']), { mode: 0o600 });
    const wrongSecretFile = join(dir, 'other-secret');
    writeFileSync(wrongSecretFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });

    const nodes = new Map<number, Service>();
    const nodeName = (n: number) => `node${n}`;
    const startNode = (n: number, o: NodeOverrides = {}): Service => {
      const dataDir = join(dir, `node${n}`);
      mkdirSync(dataDir, { recursive: true });
      const env: Record<string, string> = {
        DATABASE_URL: pg.url('porthole'),
        PORTHOLE_NODE_NAME: o.name ?? nodeName(n),
        PORTHOLE_CLUSTER_LISTEN: `${nodeIp(n)}:9080`,
        PORTHOLE_CLUSTER_SECRET_FILE: o.secretFile ?? secretFile,
        PORTHOLE_WG_KEY_FILE: o.wgKeyFile ?? wgKeyFile,
        PORTHOLE_DOMAIN: DOMAIN,
        PORTHOLE_PORTAL_HOST: PORTAL_HOST,
        PORTHOLE_LISTEN_HOST: nodeIp(n),
        PORTHOLE_HTTP_PORT: '80',
        PORTHOLE_WG_PORT: '51820',
        PORTHOLE_WG_ENDPOINT: `${nodeIp(n)}:51820`,
        PORTHOLE_DATA_DIR: dataDir,
        PORTHOLE_TRUST_PROXY: '1',
        PORTHOLE_SHUTDOWN_GRACE_MS: '3000',
        PORTHOLE_ADMIN_EMAIL: ADMIN.email,
        PORTHOLE_ADMIN_PASSWORD: ADMIN.password,
        PORTHOLE_ADMIN_TOKEN: ADMIN.token,
        PORTHOLE_LOG_LEVEL: 'info',
      };
      const s = startService(net.dc, `node${n}`, process.execPath, ['--import', 'tsx', 'apps/hub/src/main.ts'], env, REPO_ROOT);
      nodes.set(n, s);
      return s;
    };
    cleanups.push(async () => Promise.all([...nodes.values()].map((s) => s.stop(5_000))));
    const nodeListening = async (n: number, timeoutMs = 90_000) => {
      await nodes.get(n)!.waitFor((l) => l.msg === 'listening', `node ${n} to listen`, timeoutMs);
    };
    // Node 1 first: it creates the schema and the first admin; then the others together.
    startNode(1);
    await nodeListening(1);
    for (let n = 2; n <= nodeCount; n++) startNode(n);
    for (let n = 2; n <= nodeCount; n++) await nodeListening(n);

    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(Array.from({ length: nodeCount }, (_, i) => i + 1)));
    let haproxy = startService(net.dc, 'haproxy', 'haproxy', ['-db', '-f', cfg], {});
    cleanups.push(() => haproxy.stop(2_000));

    const target = (via: 'lb' | number | undefined) => (via === undefined || via === 'lb' ? LB_IP : nodeIp(via));
    const resolveFor = (url: string, via: 'lb' | number | undefined) => ({ [new URL(url).hostname]: target(via) });
    const visit: ClusterLab['visit'] = (url, options = {}) => curl(net.visitor, url, { ...options, resolve: { ...resolveFor(url, options.via), ...options.resolve } });
    const sha256: ClusterLab['sha256'] = (url, options = {}) => curlSha256(net.visitor, url, { ...options, resolve: { ...resolveFor(url, options.via), ...options.resolve } });
    const api: ClusterLab['api'] = (method, path, body, via) => adminApi((url, o) => visit(url, { ...o, via }), `${PORTAL}/api/v1`, ADMIN.token)(method, path, body);
    // Every node ready, then HAProxy's rise (2 checks, 1 s apart) so all three are in rotation.
    for (let n = 1; n <= nodeCount; n++) {
      for (const deadline = Date.now() + 30_000; ; ) {
        const r = await visit(`${PORTAL}/readyz`, { via: n }).catch(() => undefined);
        if (r?.status === 200) break;
        if (Date.now() > deadline) throw new Error(`node ${n} not ready: ${JSON.stringify(r)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    }
    await new Promise((res) => setTimeout(res, 2_500));

    // Two sites behind one NAT, each registering through HAProxy or straight at one node (so a
    // device is held by that node whatever the balancer picks): by default lanA through HAProxy,
    // lanB at node 3.
    const lans = [net.lanA, net.lanB].slice(0, agentsVia.length);
    lans.forEach((lan, i) => net.setHosts(lan, { [PORTAL_HOST]: agentsVia[i] === 'lb' ? LB_IP : nodeIp(agentsVia[i] as number) }));
    const agents: LabAgent[] = [];
    for (const [i, lan] of lans.entries()) {
      const serial = `an1500000${i + 1}`;
      const www = join(dir, `www-${serial}`);
      mkdirSync(www, { recursive: true });
      const big = randomBytes(bigBytes);
      writeFileSync(join(www, 'big.bin'), big);
      writeFileSync(join(www, 'hello.txt'), `hello from ${serial}\n`);
      const bigSha256 = (await import('node:crypto')).createHash('sha256').update(big).digest('hex');
      const web = startService(lan, `web-${serial}`, process.execPath, [join(import.meta.dirname, 'device-web.mjs'), www, String(DEVICE_PORT)], {});
      cleanups.push(() => web.stop(2_000));
      const token = await api('POST', '/enrollment-tokens', { description: `cluster lab ${serial}`, maxUses: 1 });
      if (token.status !== 201) throw new Error(`enrollment token: ${token.status} ${JSON.stringify(token.json)}`);
      const agent = startService(lan, `agent-${serial}`, process.execPath, [
        'apps/agent/bin/porthole-agent.mjs',
        '--hub-url', PORTAL,
        '--serial', serial,
        '--target', `http://127.0.0.1:${DEVICE_PORT}`,
        '--state-dir', join(dir, `agent-${serial}`),
        '--enrollment-token', token.json.token,
        '--listen', 'off',
      ], {});
      cleanups.push(() => agent.stop(3_000));
      agents.push({ serial, service: agent, bigSha256 });
    }
    for (const a of agents) {
      await a.service.waitFor((l) => l.msg === 'tunnel online', `${a.serial} online`, 60_000);
      const r = await api('PATCH', `/devices/${a.serial}`, { accessPolicy: 'public' });
      if (r.status !== 200) throw new Error(`make ${a.serial} public: ${r.status} ${JSON.stringify(r.json)}`);
    }

    return {
      net,
      pg,
      node: (n) => nodes.get(n)!,
      nodeName,
      startNode,
      nodeListening,
      get haproxy() {
        return haproxy;
      },
      async setBalancerNodes(list) {
        writeFileSync(cfg, haproxyConfig(list));
        await haproxy.stop(2_000);
        haproxy = startService(net.dc, 'haproxy', 'haproxy', ['-db', '-f', cfg], {});
        // Servers start up in HAProxy; a check failing would take one out within 2 s.
        await new Promise((res) => setTimeout(res, 2_500));
      },
      agents,
      dir,
      wrongKeyFile,
      wrongSecretFile,
      secret,
      visit,
      sha256,
      api,
      async holder(serial, via) {
        const r = await api('GET', `/devices/${serial}`, undefined, via);
        if (r.status !== 200) throw new Error(`GET /devices/${serial}: ${r.status} ${JSON.stringify(r.json)}`);
        return (r.json.node ?? null) as string | null;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
