// The restrictive-network lab, in network namespaces (root, iproute2, nftables, Dante): a hub, a site
// middle box and a device running the real agent (`apps/agent/src/main.ts`) with a small meter web
// server. Three sites, one hub:
//   1. the device reaches the hub only through a SOCKS5 server (Dante): registration over SOCKS
//      CONNECT, WireGuard over SOCKS5 UDP ASSOCIATE, the meter page through the hub's proxy;
//   2. UDP dropped by nftables, only TCP to the hub's HTTP port forwarded: the agent falls back to
//      the WebSocket carrier, the page and a 100 MiB download arrive intact; UDP allowed again →
//      the agent and the hub move back to UDP;
//   3. the only path is an HTTP CONNECT proxy with Basic credentials, entered by the owner on the
//      device's Remote access page: registration and the WebSocket carrier go through it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../support/requirements.js';
import { JsonProcess, type Line } from '../support/json-process.js';
import { DOMAIN, MID_LAN_IP, MID_WAN_IP, createRestrictiveLab, danteConfig, type RestrictiveLab } from './lab/topology.js';

const ok = requirementsMet('restrictive-network lab (SOCKS5, UDP blocked, HTTP CONNECT)', {
  root: true,
  tools: ['ip', 'nft', 'danted', 'curl'],
});

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = `${REPO}node_modules/.bin/tsx`;
const FIXTURES = `${REPO}test/restrictive/fixtures`;
const AGENT_MAIN = `${REPO}apps/agent/src/main.ts`;

const isMsg = (msg: string, extra: (l: Line) => boolean = () => true) => (l: Line) => l.msg === msg && extra(l);

describe.skipIf(!ok)('restrictive networks', () => {
  let lab: RestrictiveLab;
  let dir: string;
  let hub: JsonProcess;
  let meter: JsonProcess;
  const running: JsonProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'porthole-restrictive-'));
    lab = await createRestrictiveLab();
    try {
      hub = new JsonProcess('hub', lab.hub.spawn(TSX, [`${FIXTURES}/lab-hub.ts`], { env: { ...process.env, DATA_DIR: join(dir, 'hub'), DOMAIN } }));
      meter = new JsonProcess('meter', lab.dev.spawn(TSX, [`${FIXTURES}/lab-meter.ts`], { env: { ...process.env, PORT: '8090' } }));
      running.push(hub, meter);
      await Promise.all([hub.next((l) => l.event === 'ready', 'hub ready', 90_000), meter.next((l) => l.event === 'ready', 'meter ready')]);
    } catch (err) {
      await cleanup();
      throw err;
    }
  }, 120_000);

  async function cleanup(): Promise<void> {
    for (const p of running.splice(0).reverse()) await p.stop().catch(() => undefined);
    await lab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  afterAll(cleanup, 60_000);

  const PAGE_PASSWORD = 'device page password';

  /** Starts the real agent in the device namespace with a fresh enrollment token and its local page on 127.0.0.1:8088. */
  async function startAgent(serial: string, extra: string[]): Promise<JsonProcess> {
    const { token } = await hub.ask({ cmd: 'token' }, 'token');
    const tokenFile = join(dir, `${serial}.token`);
    await writeFile(tokenFile, String(token), { mode: 0o600 });
    const passwordFile = join(dir, 'page-password');
    await writeFile(passwordFile, PAGE_PASSWORD, { mode: 0o600 });
    const agent = new JsonProcess(
      `agent ${serial}`,
      lab.dev.spawn(TSX, [
        AGENT_MAIN,
        '--hub-url', `http://${DOMAIN}:8080`,
        '--serial', serial,
        '--state-dir', join(dir, serial),
        '--target', 'http://127.0.0.1:8090',
        '--listen', '127.0.0.1:8088',
        '--password-file', passwordFile,
        '--enrollment-token-file', tokenFile,
        '--log-level', 'info',
        ...extra,
      ]),
    );
    running.push(agent);
    return agent;
  }

  /**
   * The Remote access page as the owner sees it: curl inside the device namespace, logged in; with
   * `post`, a form on it submitted first (CSRF token from the page).
   */
  async function localPage(post?: { path: string; form: Record<string, string> }): Promise<string> {
    const jar = join(dir, 'page-cookies');
    await rm(jar, { force: true });
    const curl = (args: string[]) => lab.dev.exec('curl', ['-sS', '--max-time', '10', '-c', jar, '-b', jar, ...args]);
    const csrfOf = (html: string) => {
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
      if (!csrf) throw new Error(`no form on the local page:\n${html.slice(0, 500)}`);
      return csrf;
    };
    const login = (await curl(['http://127.0.0.1:8088/'])).stdout;
    await curl(['--data-urlencode', `csrf=${csrfOf(login)}`, '--data-urlencode', `password=${PAGE_PASSWORD}`, 'http://127.0.0.1:8088/login']);
    const page = (await curl(['http://127.0.0.1:8088/'])).stdout;
    if (!post) return page;
    const fields = Object.entries({ ...post.form, csrf: csrfOf(page) }).flatMap(([k, v]) => ['--data-urlencode', `${k}=${v}`]);
    const answer = await curl(['-o', '/dev/null', '-w', '%{http_code}', ...fields, `http://127.0.0.1:8088${post.path}`]);
    if (answer.stdout !== '303') throw new Error(`POST ${post.path} answered ${answer.stdout}`);
    return (await curl(['http://127.0.0.1:8088/'])).stdout;
  }

  async function stopAgent(agent: JsonProcess): Promise<void> {
    running.splice(running.indexOf(agent), 1);
    await agent.stop();
  }

  /** Polls the hub's view of the device's peer until `check` holds (the hub notes a session on the first data). */
  async function peerWhen(serial: string, check: (p: { endpoint?: { address: string; port: number; transport?: string }; online: boolean }) => boolean, what: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const peer = (await hub.ask({ cmd: 'peer', serial }, 'peer')) as unknown as { endpoint?: { address: string; port: number; transport?: string }; online: boolean };
      if (check(peer)) return peer;
      if (Date.now() > deadline) throw new Error(`hub peer ${serial}: timed out waiting for ${what}; last ${JSON.stringify(peer)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function meterPage(serial: string): Promise<void> {
    await hub.ask({ cmd: 'public', serial }, 'public');
    const page = await hub.ask({ cmd: 'get', serial, path: '/' }, 'get');
    expect(page.status, String(page.head)).toBe(200);
    expect(page.head).toContain('<p id="reading">1234.5 kWh</p>');
  }

  it('SOCKS5 only (Dante): registration over SOCKS, WireGuard over UDP ASSOCIATE, the meter page through the hub', async () => {
    await lab.setMode('proxy-only');
    const confFile = join(dir, 'danted.conf');
    await writeFile(confFile, danteConfig());
    const dante = new JsonProcess('danted', lab.mid.spawn('danted', ['-f', confFile, '-N', '1']));
    running.push(dante);
    // Dante has no readiness signal: the agent's registration retries with backoff until it listens.
    const t0 = performance.now();
    const agent = await startAgent('an90000001', ['--proxy', `socks5://${MID_LAN_IP}:1080`]);
    await agent.next(isMsg('registered with enrollment token'), 'registration through SOCKS5', 30_000);
    await agent.next(isMsg('socks5 udp associated'), 'UDP ASSOCIATE', 20_000);
    await agent.next(isMsg('tunnel online'), 'tunnel online', 20_000);
    console.log(`SOCKS5 lab: start to online in ${Math.round(performance.now() - t0)} ms`);
    // The hub sees the device's WireGuard coming from Dante's external address, over UDP.
    const peer = await peerWhen('an90000001', (p) => p.online, 'a session');
    expect(peer.endpoint).toEqual({ address: MID_WAN_IP, port: expect.any(Number) });
    await meterPage('an90000001');
    expect(agent.lines.some(isMsg('tunnel transport', (l) => l.carrier === 'websocket'))).toBe(false);
    const page = await localPage();
    expect(page).toContain(`<dd id="transport">WireGuard/UDP to 198.18.20.1:51820 via SOCKS5 proxy ${MID_LAN_IP}:1080 (UDP ASSOCIATE)</dd>`);
    expect(page).toContain(`Currently: SOCKS5 proxy ${MID_LAN_IP}:1080`);

    // The proxy restarts: the UDP association dies with its control connection and is made again.
    running.splice(running.indexOf(dante), 1);
    await dante.stop();
    await agent.next(isMsg('socks5 udp association down; retrying'), 'the association lost', 20_000);
    const dante2 = new JsonProcess('danted', lab.mid.spawn('danted', ['-f', confFile, '-N', '1']));
    running.push(dante2);
    await agent.next(isMsg('socks5 udp associated'), 'a new UDP ASSOCIATE', 40_000);
    await meterPage('an90000001');
    expect(agent.lines.some(isMsg('tunnel transport', (l) => l.carrier === 'websocket'))).toBe(false);
    await stopAgent(agent);
    running.splice(running.indexOf(dante2), 1);
    await dante2.stop();
  }, 90_000);

  it('UDP blocked, TCP to the HTTP port only: WebSocket fallback, page and 100 MiB download, back to UDP when unblocked', async () => {
    await lab.setMode('tcp-only');
    const t0 = performance.now();
    const agent = await startAgent('an90000002', ['--udp-probe-interval', '2']);
    await agent.next(isMsg('registered with enrollment token'), 'registration over TCP', 30_000);
    const fallback = await agent.next(isMsg('tunnel transport', (l) => l.carrier === 'websocket'), 'fallback to the WebSocket', 20_000);
    expect(fallback.reason).toBe('no WireGuard handshake over UDP within 6 s');
    await agent.next(isMsg('tunnel online'), 'tunnel online over the WebSocket', 20_000);
    console.log(`UDP-blocked lab: start to online over the WebSocket in ${Math.round(performance.now() - t0)} ms`);
    const onWs = await peerWhen('an90000002', (p) => p.online, 'a session');
    expect(onWs.endpoint).toMatchObject({ address: '10.77.0.2', transport: 'ws' });
    await meterPage('an90000002');
    const pageOnWs = await localPage();
    expect(pageOnWs).toContain(`<dd id="transport">WireGuard over WebSocket (ws://${DOMAIN}:8080/.porthole/wg)</dd>`);
    expect(pageOnWs).toContain('<dd id="transport-reason">no WireGuard handshake over UDP within 6 s</dd>');

    const d0 = performance.now();
    const [download, sent] = await Promise.all([
      hub.ask({ cmd: 'get', serial: 'an90000002', path: '/download?mb=100' }, 'get', 120_000),
      meter.next((l) => l.event === 'download' && l.bytes === 100 * 2 ** 20, 'the meter finished sending', 120_000),
    ]);
    const seconds = (performance.now() - d0) / 1000;
    console.log(`UDP-blocked lab: 100 MiB over the WebSocket carrier in ${seconds.toFixed(1)} s (${((8 * 100 * 2 ** 20) / seconds / 1e6).toFixed(0)} Mbit/s)`);
    expect(download).toMatchObject({ status: 200, bytes: 100 * 2 ** 20, sha256: sent.sha256 });
    const ws = await hub.ask({ cmd: 'ws' }, 'ws');
    expect((ws.stats as { rxDatagrams: number }).rxDatagrams).toBeGreaterThan(10_000);
    expect(agent.lines.some(isMsg('tunnel transport', (l) => l.carrier === 'udp'))).toBe(false);

    await lab.setMode('tcp-and-udp');
    const back = await agent.next(isMsg('tunnel transport', (l) => l.carrier === 'udp'), 'back on UDP', 20_000);
    expect(back.reason).toMatch(/^a (UDP probe|handshake over UDP) was answered: back on UDP$/);
    // The hub follows with the device's next UDP packet (its 25 s keepalive or an ICMP probe at the latest).
    const peer = await peerWhen('an90000002', (p) => p.endpoint?.transport === undefined, 'the hub back on UDP');
    expect(peer.endpoint).toEqual({ address: '10.77.0.2', port: expect.any(Number) });
    await meterPage('an90000002');
    const pageOnUdp = await localPage();
    expect(pageOnUdp).toContain('<dd id="transport">WireGuard/UDP to 198.18.20.1:51820</dd>');
    expect(pageOnUdp).toMatch(/<dd id="transport-reason">a (UDP probe|handshake over UDP) was answered: back on UDP<\/dd>/);
    await stopAgent(agent);
  }, 120_000);

  it('HTTP CONNECT proxy with credentials as the only path, set on the device page: registration and the WebSocket carrier through it', async () => {
    await lab.setMode('proxy-only');
    const proxy = new JsonProcess(
      'connect-proxy',
      lab.mid.spawn(TSX, [`${FIXTURES}/connect-proxy.ts`], {
        env: { ...process.env, LISTEN_HOST: MID_LAN_IP, LISTEN_PORT: '3128', ALLOW: `${DOMAIN}:8080`, USER: 'site', PASSWORD: 'pr0xy secret' },
      }),
    );
    running.push(proxy);
    await proxy.next((l) => l.event === 'ready', 'proxy ready');
    // Started without a proxy: registration cannot get out (the site refuses direct connections)…
    const agent = await startAgent('an90000003', []);
    await agent.next(isMsg('registration failed; retrying'), 'registration failing without the proxy', 30_000);
    // …until the owner enters the proxy on the device's own page.
    const page = await localPage({
      path: '/network',
      form: { transport: 'auto', proxyKind: 'http', proxyHost: MID_LAN_IP, proxyPort: '3128', proxyUsername: 'site', proxyPassword: 'pr0xy secret' },
    });
    expect(page).toContain(`Currently: HTTP CONNECT proxy site@${MID_LAN_IP}:3128`);
    expect(page).toContain('(from this page)');
    expect(page).not.toContain('pr0xy secret');
    await agent.next(isMsg('registered with enrollment token'), 'registration through CONNECT', 40_000);
    const fallback = await agent.next(isMsg('tunnel transport', (l) => l.carrier === 'websocket'), 'WebSocket carrier', 20_000);
    expect(fallback.reason).toBe('no WireGuard handshake over UDP within 6 s');
    await agent.next(isMsg('tunnel online'), 'tunnel online through CONNECT', 20_000);
    // Through the proxy: the hub sees the proxy's address.
    const peer = await peerWhen('an90000003', (p) => p.online, 'a session');
    expect(peer.endpoint).toMatchObject({ address: MID_WAN_IP, transport: 'ws' });
    await meterPage('an90000003');
    expect(proxy.lines.filter((l) => l.event === 'tunnel').length).toBeGreaterThanOrEqual(2); // API + carrier
    expect(proxy.lines.filter((l) => l.event === 'refused')).toEqual([]);
    expect(JSON.stringify(agent.lines)).not.toContain('pr0xy secret');
    await stopAgent(agent);
  }, 90_000);
});
