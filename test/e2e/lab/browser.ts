// Headless Debian Chromium driven by playwright-core, running INSIDE a lab namespace: Playwright
// starts a small wrapper that does `exec ip netns exec <ns> chromium "$@"`, so the browser's every
// connection leaves from that namespace. Host names map to lab IPs with --host-resolver-rules.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Netns } from '../../support/netns.js';
import { REPO_ROOT } from './service.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts', 'e2e');

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface LabBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Launches Chromium inside `ns`; `hostRules` e.g. `MAP *.porthole.test 198.18.0.1, MAP porthole.test 198.18.0.1`. */
export async function launchBrowserIn(ns: Netns, hostRules: string): Promise<LabBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-chromium-'));
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns.name} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  try {
    const browser = await chromium.launch({
      executablePath: wrapper,
      args: [...CHROMIUM_FLAGS, `--host-resolver-rules=${hostRules}`],
      timeout: 60_000,
    });
    return {
      browser,
      async close() {
        await browser.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Headless Chromium on this host with a throwaway profile and a 1280×800 window; `close` deletes the profile too. */
export async function launchChromiumContext(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profileDir = mkdtempSync(join(tmpdir(), 'porthole-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 800 } });
    return {
      context,
      async close() {
        await context.close();
        rmSync(profileDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profileDir, { recursive: true, force: true });
    throw err;
  }
}

let shot = 0;
/** Saves a full-page screenshot as test-artifacts/e2e/NN-<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = join(ARTIFACTS_DIR, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** waitForURL that says where the browser is instead when it is not coming. */
export async function waitUrl(page: Page, url: RegExp | string): Promise<void> {
  await page.waitForURL(url, { timeout: 20_000 }).catch(async (err: Error) => {
    const body = await page.textContent('body').catch(() => '(no body)');
    throw new Error(`${err.message.split('\n')[0]}\nthe browser is at ${page.url()}: ${body?.replace(/\s+/g, ' ').slice(0, 600)}`);
  });
}
