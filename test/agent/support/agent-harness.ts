// The real agent (apps/agent createAgent + the default WireGuard/netstack tunnel) with its standalone
// "Remote access" page on a free loopback port, a state directory of its own, and a small device web
// UI as the overlay port 80 target. Logs are kept in memory and printed when a test wants them.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createAgent, createDefaultTunnelFactory, createRemoteAccessRoutes, StateStore, type Agent, type AgentDeps, type AgentPhase } from '@porthole/agent';
import { memoryLogger } from '@porthole/log';

export const LOCAL_PASSWORD = 'meter-owner-pass-1234';

export interface Listening {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function listen(handler: http.RequestListener): Promise<Listening> {
  const server = http.createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** The bytes of `/download?bytes=N`: a fixed LCG stream (seed 1), so a test can hash what it expects. */
export function downloadBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * A device's own web UI: a page naming the serial with an absolute self-link (the agent rewrites it
 * to the public URL) and the Host it was asked for (the agent sets the target's); `/download?bytes=N
 * &chunkMs=M` streams `downloadBytes(N)` in 64 KiB chunks, one every M ms (a transfer that lasts).
 */
export function deviceUi(serial: string): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://device');
    if (url.pathname === '/download') {
      const data = downloadBytes(Number(url.searchParams.get('bytes')));
      const chunkMs = Number(url.searchParams.get('chunkMs') ?? 0);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      let sent = 0;
      const pump = (): void => {
        if (res.destroyed) return;
        if (sent >= data.length) return void res.end();
        const chunk = data.subarray(sent, sent + 65536);
        sent += chunk.length;
        const more = res.write(chunk);
        const next = () => (chunkMs > 0 ? setTimeout(pump, chunkMs) : setImmediate(pump));
        if (more) next();
        else res.once('drain', next);
      };
      pump();
      return;
    }
    const body =
      `<!doctype html><title>Meter ${serial}</title><h1>Meter ${serial}</h1>` +
      `<p id="path">${req.method} ${req.url}</p><p id="host">${req.headers.host}</p>` +
      `<a href="http://${req.headers.host}/settings">settings</a>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

export interface AgentHarness {
  readonly agent: Agent;
  readonly stateDir: string;
  /** The local Remote access page, e.g. http://127.0.0.1:41234/ */
  readonly pageUrl: string;
  readonly device: Listening;
  readonly logs: Array<Record<string, unknown>>;
  /** Every phase the agent went through since before start, consecutive repeats folded. */
  readonly phases: AgentPhase[];
  /** Log records whose message matches, for failure output and assertions. */
  logLines(match?: RegExp): string[];
  close(): Promise<void>;
}

export interface AgentHarnessOptions extends Partial<Omit<AgentDeps, 'store' | 'tunnelFactory' | 'logger' | 'hubUrl' | 'serial'>> {
  hubUrl: string;
  serial: string;
  /** Liveness probe interval; default: the registration's keepalive (what main.ts uses). */
  probeIntervalMs?: number;
  /** An existing state directory (a reboot of the same device); left in place on close. */
  stateDir?: string;
}

export async function startAgentHarness(options: AgentHarnessOptions): Promise<AgentHarness> {
  const { hubUrl, serial, probeIntervalMs, stateDir: givenStateDir, ...rest } = options;
  const stateDir = givenStateDir ?? mkdtempSync(join(tmpdir(), 'porthole-agent-state-'));
  const device = await listen(deviceUi(serial));
  const logger = memoryLogger();
  const agent = createAgent({
    target: new URL(device.url),
    ...rest,
    hubUrl: new URL(hubUrl),
    serial,
    store: StateStore.open(stateDir),
    tunnelFactory: createDefaultTunnelFactory(probeIntervalMs ? { probeIntervalMs } : {}),
    logger,
  });
  const app = createRemoteAccessRoutes(agent, { password: LOCAL_PASSWORD, allowedHosts: ['127.0.0.1', 'localhost'] });
  const ui = await new Promise<{ server: http.Server; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve({ server: server as http.Server, port: info.port }));
  });
  const phases: AgentPhase[] = [agent.status().phase];
  agent.onChange((s) => {
    if (phases.at(-1) !== s.phase) phases.push(s.phase);
  });
  await agent.start();
  return {
    phases,
    agent,
    stateDir,
    pageUrl: `http://127.0.0.1:${ui.port}/`,
    device,
    logs: logger.records,
    logLines(match) {
      return logger.records.filter((r) => !match || match.test(String(r.msg ?? r.message))).map((r) => JSON.stringify(r));
    },
    async close() {
      await agent.close();
      ui.server.closeAllConnections();
      await new Promise((r) => ui.server.close(() => r(undefined)));
      await device.close();
      if (!givenStateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
