// A real hub over HTTPS on a device domain such as example.io (its throwaway certificate; every
// device host same-site with its siblings, as in production) and headless Chromium in which that
// domain and all its subdomains resolve to 127.0.0.1. Pages stay https:, so Chromium sends Fetch
// Metadata and keeps Secure and __Host- cookies as it does in production. For the browser tests of
// device-host isolation and of the single device host.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { UdpBind } from '@porthole/wireguard';
import { createHub, loadConfig, type Hub } from '@porthole/hub';
import { TEST_CERT, TEST_KEY } from '@porthole/hub/testing';
import { CHROMIUM, CHROMIUM_FLAGS } from '../../e2e/lab/browser.js';
import { freePort } from '../../support/free-port.js';

export interface TlsHubBrowser {
  hub: Hub;
  /** The HTTPS port every host is served on. */
  port: number;
  browser: Browser;
  /** One browser profile (cookies shared by its pages), certificate errors ignored. */
  context: BrowserContext;
  /** Puts a portal session for this account into the browser, as a portal login would. */
  signIn(account: { email: string; password: string }): Promise<void>;
  close(): Promise<void>;
}

export async function startTlsHubBrowser(domain: string, env: Record<string, string> = {}): Promise<TlsHubBrowser> {
  const dataDir = mkdtempSync(join(tmpdir(), 'porthole-tls-hub-'));
  writeFileSync(join(dataDir, 'cert.pem'), TEST_CERT);
  writeFileSync(join(dataDir, 'key.pem'), TEST_KEY);
  const [httpPort, port] = [await freePort(), await freePort()];
  const bind = await UdpBind.open({ host: '127.0.0.1' });
  const config = loadConfig(
    {
      PORTHOLE_DATA_DIR: dataDir,
      PORTHOLE_DOMAIN: domain,
      PORTHOLE_HTTP_PORT: String(httpPort),
      PORTHOLE_HTTPS_PORT: String(port),
      PORTHOLE_TLS_CERT_FILE: join(dataDir, 'cert.pem'),
      PORTHOLE_TLS_KEY_FILE: join(dataDir, 'key.pem'),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: `127.0.0.1:${bind.localPort}`,
      ...env,
    },
    (path) => readFileSync(path, 'utf8'),
  );
  const hub = await createHub({ config, bind });
  await hub.listen();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--host-resolver-rules=MAP ${domain} 127.0.0.1, MAP *.${domain} 127.0.0.1`],
  });
  // The hub's throwaway certificate names other hosts.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  return {
    hub,
    port,
    browser,
    context,
    async signIn(account) {
      const login = await hub.registry.login({ ...account, clientIp: '127.0.0.1' });
      await context.addCookies([{ name: '__Host-porthole_session', value: login.session.token, url: hub.portalUrl, secure: true, httpOnly: true, sameSite: 'Lax' }]);
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await hub.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
