// The CLI: `porthole tcp` and `porthole ssh` carrying an SSH-like byte stream (banner exchange,
// then 5 MiB of seeded random data each way at once) through hub → WireGuard overlay → device
// port 22, in --listen mode and stdio mode; refusals mapped to exit codes; ssh's exact argv with a
// fake `ssh` on PATH that runs the ProxyCommand (the real binary, through tsx).
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { TcpSocket } from '@porthole/netstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDeviceKeys, startOverlayDevice, type OverlayDevice, type Registration } from '../support/overlay-device.js';
import { CLI_BIN, cli, tempHome } from './support/cli-harness.js';
import { until } from '../support/until.js';
import { startTestHub, type TestHub } from '@porthole/hub/testing';

const SIZE = 5 * 1024 * 1024;
const SEED = process.env.PORTHOLE_TEST_SEED ?? randomBytes(8).toString('hex');
console.log(`cli-tcp: payload seed ${SEED} (set PORTHOLE_TEST_SEED to repeat)`);

/** Deterministic pseudo-random bytes from the seed (AES-128-CTR keystream). */
function seeded(label: string, size: number): Buffer {
  const key = createHash('sha256').update(`${SEED}:${label}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const SERIAL = 'an30000001';
const DEVICE_BANNER = 'SSH-2.0-PortholeTestDevice_1.0';
const devicePayload = seeded('device', SIZE);

/**
 * The device's SSH-like service: sends its banner, reads the client's; a "bulk" client then gets
 * 5 MiB while it sends 5 MiB, and finally the SHA-256 of what the device received; any other
 * client gets its banner echoed. The device then closes.
 */
function sshLikeService(socket: TcpSocket): void {
  socket.on('error', () => {});
  socket.write(`${DEVICE_BANNER}\r\n`);
  let head = Buffer.alloc(0);
  let bulk: { hash: ReturnType<typeof createHash>; received: number; sent: boolean } | undefined;
  const finish = () => {
    if (bulk && bulk.sent && bulk.received === SIZE) socket.end(bulk.hash.digest());
  };
  socket.on('data', (chunk: Buffer) => {
    if (!bulk) {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf('\r\n');
      if (nl < 0) return;
      const banner = head.subarray(0, nl).toString();
      if (!banner.includes('bulk')) {
        socket.end(`echo ${banner}\r\n`);
        return;
      }
      bulk = { hash: createHash('sha256'), received: 0, sent: false };
      chunk = head.subarray(nl + 2);
      const state = bulk;
      let off = 0;
      const pump = () => {
        while (off < SIZE) {
          const part = devicePayload.subarray(off, off + 256 * 1024);
          off += part.length;
          if (!socket.write(part)) return void socket.once('drain', pump);
        }
        state.sent = true;
        finish();
      };
      pump();
    }
    bulk.hash.update(chunk);
    bulk.received += chunk.length;
    finish();
  });
}

interface ClientOutcome {
  deviceBanner: string;
  receivedSha: string;
  deviceDigestOfOurBytes: string;
  extraBytes: number;
}

/** The client side of the exchange over any pair of streams; resolves when the device has closed. */
function bulkClient(toDevice: Writable, fromDevice: Readable, payload: Buffer): Promise<ClientOutcome> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let banner: string | undefined;
    const hash = createHash('sha256');
    let got = 0;
    let tail = Buffer.alloc(0);
    fromDevice.on('data', (chunk: Buffer) => {
      if (banner === undefined) {
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        banner = buf.subarray(0, nl).toString();
        chunk = buf.subarray(nl + 2);
        toDevice.write('SSH-2.0-PortholeTestClient bulk\r\n');
        let off = 0;
        const pump = () => {
          while (off < payload.length) {
            const part = payload.subarray(off, off + 100_000);
            off += part.length;
            if (!toDevice.write(part)) return void toDevice.once('drain', pump);
          }
        };
        pump();
      }
      const body = chunk.subarray(0, Math.max(0, SIZE - got));
      hash.update(body);
      got += body.length;
      tail = Buffer.concat([tail, chunk.subarray(body.length)]);
    });
    fromDevice.once('end', () =>
      resolve({ deviceBanner: banner ?? '', receivedSha: hash.digest('hex'), deviceDigestOfOurBytes: tail.subarray(0, 32).toString('hex'), extraBytes: tail.length - 32 }),
    );
    fromDevice.once('error', reject);
  });
}

let t: TestHub;
let home: ReturnType<typeof tempHome>;
let env: Record<string, string>;
let device: OverlayDevice;

async function register(serial: string): Promise<Registration> {
  const headers = { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' };
  const token = (await (await fetch(`${t.url}/api/v1/enrollment-tokens`, { method: 'POST', headers, body: JSON.stringify({ maxUses: 1 }) })).json()) as { token: string };
  const keys = newDeviceKeys();
  const res = await fetch(`${t.url}/api/v1/devices/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serial, publicKey: keys.publicKey, enrollmentToken: token.token }),
  });
  expect(res.status).toBe(201);
  const registration = (await res.json()) as Registration;
  if (serial === SERIAL) {
    device = await startOverlayDevice(keys, registration, (_req, res) => res.end('device web ui'));
    device.netstack.listen(22, sshLikeService);
  }
  return registration;
}

beforeAll(async () => {
  t = await startTestHub({ name: 'cli' });
  home = tempHome();
  env = { ...home.env, PORTHOLE_HUB: t.url, PORTHOLE_TOKEN: t.adminToken };
  const reg = await register(SERIAL);
  await register('an30000002'); // registered, never online
  // Any packet towards the hub starts the WireGuard handshake; the hub's RST is expected.
  const poke = device.netstack.connect({ host: reg.hub.tunnelIp, port: 80, timeoutMs: 5000 });
  poke.on('error', () => {});
  await until(() => (t.hub.overlay.isOnline(reg.tunnelIp) ? true : undefined), 'the device to come online', 15_000);
});

afterAll(async () => {
  await device?.close();
  await t?.close();
  home?.remove();
});

describe('porthole tcp', () => {
  it('carries 5 MiB each way plus a banner exchange intact in --listen mode, two connections at once', async () => {
    const stderr = new PassThrough();
    let errText = '';
    stderr.on('data', (c: Buffer) => (errText += c.toString()));
    const stop = new AbortController();
    const running = cli(['tcp', SERIAL, '22', '--listen', '127.0.0.1:0'], env, { io: { stderr, signal: stop.signal } });
    const port = Number(await until(() => /listening on 127\.0\.0\.1:(\d+) → an30000001:22/.exec(errText)?.[1], 'the listener', 15_000));

    const payload = seeded('client-listen', SIZE);
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const bulk = bulkClient(socket, socket, payload);
    // A second, small connection through the same listener meanwhile.
    const echo = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let text = '';
      s.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.endsWith('\r\n') && !text.includes('echo')) s.write('SSH-2.0-Second\r\n');
      });
      s.once('end', () => resolve(text));
      s.once('error', reject);
    });
    expect(echo).toBe(`${DEVICE_BANNER}\r\necho SSH-2.0-Second\r\n`);

    const outcome = await bulk;
    socket.destroy();
    expect(outcome.deviceBanner).toBe(DEVICE_BANNER);
    expect(outcome.receivedSha).toBe(sha(devicePayload));
    expect(outcome.deviceDigestOfOurBytes).toBe(sha(payload));
    expect(outcome.extraBytes).toBe(0);

    await until(() => (errText.match(/closed by the device/g)?.length === 2 ? true : undefined), 'both connection reports', 15_000);
    expect(errText).toMatch(/\[\d\] closed by the device: sent 5\.0 MiB, received 5\.0 MiB/);
    stop.abort();
    const result = await running;
    expect(result.code).toBe(0);
    expect(errText).toMatch(/stopped\n$/);
    // The listener is gone.
    await expect(new Promise((resolve, reject) => net.connect({ host: '127.0.0.1', port }).once('connect', resolve).once('error', reject))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('carries the same stream over stdin/stdout (the ProxyCommand form) and exits 0 when the device closes', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const payload = seeded('client-stdio', SIZE);
    const bulk = bulkClient(stdin, stdout, payload);
    const result = await cli(['tcp', SERIAL, '22'], env, { io: { stdin, stdout } });
    stdout.end(); // run() leaves stdout open (it belongs to the process); the test closes it
    const outcome = await bulk;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(outcome.deviceBanner).toBe(DEVICE_BANNER);
    expect(outcome.receivedSha).toBe(sha(devicePayload));
    expect(outcome.deviceDigestOfOurBytes).toBe(sha(payload));
    expect(outcome.extraBytes).toBe(0);
  });

  it('maps refusals to one line and an exit code', async () => {
    const closedPort = await cli(['tcp', SERIAL, '2323'], env);
    expect(closedPort.code).toBe(1);
    expect(closedPort.stderr).toBe(`porthole tcp: ${SERIAL}:2323: device ${SERIAL} refused the connection to port 2323 (not allow-listed or nothing listening) (HTTP 502)\n`);

    const offline = await cli(['tcp', 'an30000002', '22'], env);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/^porthole tcp: an30000002:22: Device offline: The device is not connected to the remote-access service right now.*\(HTTP 502\)\n$/);

    const unknown = await cli(['tcp', 'an39999999', '22'], env);
    expect(unknown.code).toBe(4);

    // --device-domain skips the API, so the WebSocket endpoint itself refuses the bad token.
    const badToken = await cli(['tcp', SERIAL, '22', '--device-domain', 'localhost'], { ...env, PORTHOLE_TOKEN: 'ph_api_wrong' });
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toMatch(/^porthole tcp: an30000001:22: Sign-in required: .* \(check porthole whoami\) \(HTTP 401\)\n$/);

    expect((await cli(['devices', 'disable', 'an30000002'], env)).code).toBe(0);
    const disabled = await cli(['tcp', 'an30000002', '22'], env);
    expect(disabled.code).toBe(3);
    expect(disabled.stderr).toMatch(/^porthole tcp: an30000002:22: Remote access disabled: .*\(HTTP 403\)\n$/);

    expect((await cli(['tcp', SERIAL, '70000'], env)).code).toBe(2);
    expect((await cli(['tcp', SERIAL, '22', '--listen', 'nonsense'], env)).code).toBe(2);
  });
  it('runs as a real process: --listen serves until SIGINT, then exits 0', async () => {
    const bin = CLI_BIN;
    const child = spawn(process.execPath, [bin, 'tcp', SERIAL, '22', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let errText = '';
      child.stderr.on('data', (c: Buffer) => (errText += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const port = Number(await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(errText)?.[1], 'the listener', 15_000));
      const text = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port });
        let got = '';
        s.on('data', (c: Buffer) => {
          got += c.toString();
          if (got === `${DEVICE_BANNER}\r\n`) s.write('SSH-2.0-RealProcess\r\n');
        });
        s.once('end', () => resolve(got));
        s.once('error', reject);
      });
      expect(text).toBe(`${DEVICE_BANNER}\r\necho SSH-2.0-RealProcess\r\n`);
      await until(() => (errText.includes('closed by the device') ? true : undefined), 'the connection report', 15_000);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(errText).toMatch(/stopped\n$/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('porthole ssh', () => {
  it('runs ssh with ProxyCommand=<porthole> tcp <serial> %p, and the proxy carries the session', async () => {
    const bin = CLI_BIN;
    const dir = mkdtempSync(join(tmpdir(), 'porthole-fake-ssh-'));
    try {
      const log = join(dir, 'argv.json');
      // A stand-in for ssh: records its argv, runs the ProxyCommand the way ssh does (sh -c "exec …",
      // %p → the port), does a banner exchange through it and exits 7.
      writeFileSync(
        join(dir, 'ssh'),
        `#!${process.execPath}
const { spawn } = require('node:child_process');
const argv = process.argv.slice(2);
require('node:fs').writeFileSync(${JSON.stringify(log)}, JSON.stringify(argv));
const proxy = argv[argv.indexOf('-o') + 1].replace(/^ProxyCommand=/, '');
const port = argv.includes('-p') ? argv[argv.indexOf('-p') + 1] : '22';
const child = spawn('/bin/sh', ['-c', 'exec ' + proxy.replace(/%p/g, port).replace(/%%/g, '%')], { stdio: ['pipe', 'pipe', 'inherit'] });
let text = '';
child.stdout.on('data', (c) => {
  text += c;
  if (text.split('\\r\\n').length === 2) child.stdin.write('SSH-2.0-FakeSsh\\r\\n');
});
child.on('close', (code) => { process.stdout.write(text + 'proxy exit ' + code + '\\n'); process.exit(7); });
`,
      );
      chmodSync(join(dir, 'ssh'), 0o755);
      const sshEnv = { ...home.env, PATH: `${dir}:${home.env.PATH}` };
      const r = await cli(['ssh', '--hub', t.url, '--token', t.adminToken, `root@${SERIAL}`, '-p', '22', 'uptime'], sshEnv, {
        io: { selfCommand: [process.execPath, bin] },
      });
      expect(JSON.parse(readFileSync(log, 'utf8'))).toEqual(['-o', `ProxyCommand=${process.execPath} ${bin} tcp ${SERIAL} %p`, `root@${SERIAL}`, '-p', '22', 'uptime']);
      expect(r.stdout).toBe(`${DEVICE_BANNER}\r\necho SSH-2.0-FakeSsh\r\nproxy exit 0\n`);
      expect(r.code).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says when ssh is missing, and refuses a destination that is not a serial', async () => {
    const none = await cli(['ssh', SERIAL], { ...env, PATH: '/nonexistent' });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('porthole ssh: ssh is not installed (or not on PATH)\n');
    expect((await cli(['ssh', 'root@an3.evil; rm -rf'], env)).code).toBe(2);
  });
});
