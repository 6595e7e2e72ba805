// VNC and SSH in the browser, end to end: a real VNC server (Xvfb + x11vnc, the root window painted
// a known colour with xsetroot) and a real OpenSSH server (its own config, host key and a test key
// for root, on loopback) behind a real porthole-agent's `--expose`, a real hub, and headless
// Chromium on the device host's /.porthole/vnc and /.porthole/ssh pages. The VNC page must show the
// remote desktop (pixels checked, screenshot kept), the terminal must run a typed command and show
// its output, the page must show the SSH host key's real fingerprint, and both sessions must be in
// the access log with their duration.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentHarness, type AgentHarness } from '../agent/support/agent-harness.js';
import { startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../e2e/lab/browser.js';
import { freePort } from '../support/free-port.js';
import { requirementsMet } from '../support/requirements.js';

const ok = requirementsMet('VNC and SSH consoles in Chromium', {
  root: true,
  tools: ['chromium', 'Xvfb', 'x11vnc', 'xsetroot', '/usr/sbin/sshd', 'ssh-keygen'],
});

const SERIAL = 'an55000001';
const VISITOR = { email: 'console@example.io', password: 'a long visitor password' };
/** What xsetroot paints the remote desktop with: recognisable, and unlike any page background. */
const DESKTOP = { name: '#ff8000', rgb: [255, 128, 0] };
const SHOTS = join(process.cwd(), 'test-artifacts', 'consoles');

function waitForPort(port: number, what: string, timeoutMs = 15_000): Promise<void> {
  return until(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    what,
    timeoutMs,
    100,
  ).then(() => undefined);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe.skipIf(!ok)('VNC and SSH consoles in Chromium', () => {
  let dir: string;
  let hub: HubHarness;
  let agent: AgentHarness;
  let browser: Browser;
  let context: BrowserContext;
  let visitorId: string;
  let deviceOrigin: string;
  let hostKeyFingerprint: string;
  let paint: () => void;
  const children: ChildProcess[] = [];
  const output: string[] = [];

  function start(cmd: string, args: string[]): ChildProcess {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => output.push(`${cmd}: ${d}`));
    child.stderr!.on('data', (d: Buffer) => output.push(`${cmd}: ${d}`));
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'porthole-consoles-'));

    // The remote desktop: a virtual X display painted orange, served by x11vnc on loopback.
    let display = 0;
    for (display = 70 + Math.floor(Math.random() * 200); existsSync(`/tmp/.X11-unix/X${display}`) || existsSync(`/tmp/.X${display}-lock`); display++);
    start('Xvfb', [`:${display}`, '-screen', '0', '640x480x24', '-nolisten', 'tcp']);
    await until(() => existsSync(`/tmp/.X11-unix/X${display}`), 'the X display', 15_000, 100);
    const vncPort = await freePort();
    start('x11vnc', ['-display', `:${display}`, '-rfbport', String(vncPort), '-localhost', '-nopw', '-forever', '-shared', '-quiet']);
    await waitForPort(vncPort, 'x11vnc');
    // Painted once x11vnc watches the screen (a root window painted before it started reads black).
    paint = () => execFileSync('xsetroot', ['-display', `:${display}`, '-solid', DESKTOP.name]);
    paint();

    // The SSH server: its own host key, config and authorised key for root; nothing of the system's.
    const sshPort = await freePort();
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
    hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PrintMotd no',
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    start('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')]);
    await waitForPort(sshPort, 'sshd');

    hub = await startHubHarness();
    const { json } = await hub.api('POST', '/enrollment-tokens', { description: 'consoles', maxUses: 1 });
    // A real agent: overlay port 5900 → x11vnc, 22 → sshd; nothing else is reachable.
    agent = await startAgentHarness({
      hubUrl: hub.portalUrl,
      serial: SERIAL,
      enrollmentToken: json.token,
      expose: [
        { port: 5900, host: '127.0.0.1', targetPort: vncPort },
        { port: 22, host: '127.0.0.1', targetPort: sshPort },
      ],
    });
    await until(() => agent.agent.status().phase === 'online', 'the agent online', 20_000);
    const registry = hub.hub.registry;
    visitorId = (await registry.signUp(VISITOR)).id;
    await registry.setDeviceOwner(SERIAL, visitorId);
    deviceOrigin = `http://${SERIAL}.localhost:${hub.httpPort}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const login = await registry.login({ ...VISITOR, clientIp: '127.0.0.1' });
    await context.addCookies([{ name: 'porthole_session', value: login.session.token, url: hub.portalUrl, httpOnly: true, sameSite: 'Lax' }]);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await agent?.close();
    await hub?.close();
    for (const child of children.reverse()) await stop(child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a console page; the device host sends the visitor through the portal sign-in first. */
  async function openConsole(path: string): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => output.push(`page: ${m.text()}`));
    await page.goto(`${deviceOrigin}${path}`, { waitUntil: 'domcontentloaded' });
    await page.waitForURL(`${deviceOrigin}${path}`, { waitUntil: 'domcontentloaded' });
    return page;
  }

  /** Fills the terminal page's sign-in form with root and a key file, and connects. */
  async function signInWithKey(page: Page, keyFile: string): Promise<void> {
    await page.fill('#username', 'root');
    await page.locator('details summary').click();
    await page.fill('#private-key', readFileSync(join(dir, keyFile), 'utf8'));
    await page.click('#connect');
  }

  const entries = async () => (await hub.hub.registry.searchAccessLog({ serial: SERIAL, limit: 200 })).entries;

  /** Opens a console page, runs `use` on it (the agent's and servers' output printed if it fails) and closes it. */
  async function onConsole(path: string, use: (page: Page) => Promise<void>): Promise<void> {
    const page = await openConsole(path);
    try {
      await use(page);
    } catch (err) {
      console.log(output.join(''));
      throw err;
    } finally {
      await page.close();
    }
  }

  /** The visitor's finished session on `path` in the access log: theirs, a GET, with a duration. */
  async function loggedSession(path: string, what: string) {
    const entry = await until(async () => (await entries()).find((e) => e.path === path && e.status === 101), `${what} in the access log`);
    expect(entry).toMatchObject({ userId: visitorId, method: 'GET' });
    expect(entry.durationMs).toBeGreaterThan(0);
    return entry;
  }

  it('the VNC page shows the remote desktop through the agent’s exposed port', async () => {
    await onConsole('/.porthole/vnc?port=5900', async (page) => {
      await page.waitForSelector('body[data-state="connected"]', { timeout: 20_000 });
      // noVNC draws the framebuffer into a canvas; read its middle back once the first update landed.
      const painted = setInterval(() => paint(), 3_000);
      const pixel = await until(
        () =>
          page.evaluate(() => {
            const g = globalThis as unknown as { document: { querySelector(s: string): { width: number; height: number; getContext(t: string): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } } | null } };
            const canvas = g.document.querySelector('#screen canvas');
            if (!canvas || canvas.width < 600) return undefined;
            const d = canvas.getContext('2d').getImageData(Math.floor(canvas.width / 2), Math.floor(canvas.height / 2), 1, 1).data;
            return d[0] === 0 && d[1] === 0 && d[2] === 0 ? undefined : [d[0], d[1], d[2]];
          }),
        'the remote desktop drawn',
        20_000,
        200,
      ).finally(() => clearInterval(painted));
      expect(pixel).toEqual(DESKTOP.rgb);
      const shot = await page.screenshot({ path: join(SHOTS, 'vnc-remote-desktop.png') });
      // The screenshot (what the visitor sees) is mostly the desktop's colour.
      const png = PNG.sync.read(shot);
      let orange = 0;
      for (let i = 0; i < png.data.length; i += 4) {
        if (Math.abs(png.data[i]! - 255) < 8 && Math.abs(png.data[i + 1]! - 128) < 8 && png.data[i + 2]! < 8) orange++;
      }
      expect(orange / (png.width * png.height)).toBeGreaterThan(0.4);
    });
    const vnc = await loggedSession('/.porthole/tcp', 'the VNC session');
    // RFB both ways (a solid desktop compresses to little).
    expect(vnc.bytesOut).toBeGreaterThan(100);
    expect(vnc.bytesIn).toBeGreaterThan(10);
  });

  it('the SSH page signs in with a key, runs a typed command and shows its output', async () => {
    await onConsole('/.porthole/ssh?port=22', async (page) => {
      await signInWithKey(page, 'user_key');
      await page.waitForSelector('body[data-state="connected"]', { timeout: 20_000 });
      // The key went in the first message and was cleared from the form.
      expect(await page.inputValue('#private-key')).toBe('');
      const text = () => page.evaluate(() => (globalThis as unknown as { portholeTerminalText(): string }).portholeTerminalText());
      expect(await text()).toContain(hostKeyFingerprint);
      await page.locator('#terminal').click();
      await page.keyboard.type('echo porthole-$((6*7)) $(id -un)\n');
      await until(async () => (await text()).includes('porthole-42 root'), 'the command output in the terminal', 15_000, 100);
      await page.screenshot({ path: join(SHOTS, 'ssh-terminal.png') });
      await page.keyboard.type('exit\n');
      await page.waitForSelector('body[data-state="closed"]', { timeout: 10_000 });
    });
    await loggedSession('/.porthole/ssh', 'the SSH session');
  });

  it('a wrong key is refused by the SSH server and said so on the page', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other_key')]);
    const page = await openConsole('/.porthole/ssh?port=22');
    await signInWithKey(page, 'other_key');
    await page.waitForSelector('body[data-state="failed"]', { timeout: 20_000 });
    expect(await page.locator('#status').innerText()).toContain('refused the sign-in');
    await page.close();
  });

  it('a port the agent does not expose reaches nothing', async () => {
    const page = await openConsole('/.porthole/vnc?port=5901');
    await page.waitForSelector('body[data-state="disconnected"]', { timeout: 20_000 });
    await page.close();
  });
});
