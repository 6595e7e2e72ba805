// A real hub over HTTPS on a device domain such as example.io (its throwaway certificate; every
// device host same-site with its siblings, as in production) and headless Chromium in which that
// domain and all its subdomains resolve to 127.0.0.1. Pages stay https:, so Chromium sends Fetch
// Metadata and keeps Secure and __Host- cookies as it does in production. For the browser tests of
// device-host isolation and of the single device host.
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import type { Hub } from '@porthole/hub';
import { TEST_CERT, TEST_KEY, startTestHub } from '@porthole/hub/testing';
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
  const port = await freePort();
  const t = await startTestHub({
    name: 'tls',
    admin: false,
    files: { 'cert.pem': TEST_CERT, 'key.pem': TEST_KEY },
    env: (dataDir) => ({
      PORTHOLE_DOMAIN: domain,
      PORTHOLE_HTTPS_PORT: String(port),
      PORTHOLE_TLS_CERT_FILE: join(dataDir, 'cert.pem'),
      PORTHOLE_TLS_KEY_FILE: join(dataDir, 'key.pem'),
      ...env,
    }),
  });
  const hub = t.hub;
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
      await t.close();
    },
  };
}
