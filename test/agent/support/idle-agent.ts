// A `porthole-agent` child process left idle: a stub hub refuses its enrollment token, so it settles
// with no tunnel and its local page listening. Used on the tsx entry point (idle-start.test.ts) and on
// the device build (device-build.test.ts); what the child was started with is the caller's choice.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.js';
import { until } from '../../support/until.js';

/** Functions a test's afterEach runs in reverse order. */
export type Cleanups = Array<() => unknown>;

export interface AgentChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

/** A hub that refuses every enrollment token (403), recording what it was asked. */
async function refusingHub(cleanups: Cleanups): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'invalid_enrollment_token', message: 'This enrollment token is not valid.' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/**
 * `node <nodeArgs> <args> --state-dir <fresh dir>` in `cwd`, with an empty NODE_OPTIONS (the test
 * runner's own must not reach the agent); stopped with SIGTERM by the cleanups.
 */
function startAgent(nodeArgs: string[], args: string[], cleanups: Cleanups, options: { cwd: string }): AgentChild {
  const stateDir = mkdtempSync(join(tmpdir(), 'agent-idle-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [...nodeArgs, ...args, '--state-dir', stateDir], {
    cwd: options.cwd,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  );
  return { child, stdout: () => out, stderr: () => err };
}

/**
 * Starts the agent (`nodeArgs` name its entry point) against a refusing hub with its page on a free
 * loopback port, and waits until it has settled idle: the registration refused, the page listening.
 */
export async function startIdleAgent(nodeArgs: string[], cleanups: Cleanups, options: { cwd: string }): Promise<AgentChild & { hub: { requests: string[] }; uiPort: number }> {
  const hub = await refusingHub(cleanups);
  const uiPort = await freePort();
  const agent = startAgent(
    nodeArgs,
    [
      '--hub-url', hub.url,
      '--serial', 'an30000001',
      '--target', 'http://127.0.0.1:9',
      '--enrollment-token', 'not-a-valid-token',
      '--password', 'idle-agent-page-pass',
      '--listen', `127.0.0.1:${uiPort}`,
    ],
    cleanups,
    options,
  );
  await until(
    () => {
      if (agent.child.exitCode !== null) throw new Error(`the agent exited (${agent.child.exitCode}): ${agent.stderr() || agent.stdout()}`);
      return /registration refused/.test(agent.stdout()) && /local Remote access page listening/.test(agent.stdout());
    },
    'the agent idle after a refused token',
    30_000,
  );
  return { ...agent, hub, uiPort };
}
