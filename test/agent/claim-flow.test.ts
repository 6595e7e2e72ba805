// The claim flow against the real in-process hub over loopback UDP: the owner logs in
// to the agent's local page and presses Enable, signs up and approves on the portal (forms with CSRF),
// comes back to the device page, the agent's poll gets the registration, the tunnel comes up, the
// page shows the public URL and a visitor (the owner, through the ticket flow) gets the device's web
// UI through the hub. Disable tears the tunnel down locally within a second; Enable brings it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PASSWORD, startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { until, useHubHarness } from './support/hub-harness.js';
import { TestBrowser, visibleText, type Page } from '../support/browser.js';

const SERIAL = 'an20000001';
const OWNER = { email: 'owner@example.io', password: 'meter owner password 1' };

const hub = useHubHarness();
let device: AgentHarness;
/** One browser for the owner: the device page on 127.0.0.1, the portal on localhost, the device host. */
const browser = new TestBrowser();
/** Every request the device's own web UI answered. */
const deviceSaw: string[] = [];

beforeAll(async () => {
  device = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL });
  device.device.server.on('request', (req) => deviceSaw.push(`${req.method} ${req.url}`));
});

afterAll(async () => {
  await device?.close();
});

/** The local page after logging in with the device password. */
async function localPage(): Promise<Page> {
  let page = await browser.get(device.pageUrl);
  if (page.html.includes('name="password"')) {
    const login = await browser.post(page, '/login', { password: LOCAL_PASSWORD });
    expect(login.status).toBe(303);
    page = await browser.get(device.pageUrl);
  }
  expect(page.status).toBe(200);
  return page;
}

describe('claim flow through the real hub', () => {
  let approvedReturn: Page;

  it('Enable on the local page sends the owner to the portal approval page, which they approve after signing up', async () => {
    const page = await localPage();
    expect(page.html).toContain('id="phase">Off<');
    const enabled = await browser.post(page, '/enable');
    expect(enabled.status).toBe(303);
    const approval = new URL(enabled.location!);
    expect(approval.origin).toBe(hub.portalUrl);
    expect(approval.pathname).toBe('/claim');
    const code = approval.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    // Meanwhile the device page shows the same code and refreshes itself.
    const waiting = await browser.get(device.pageUrl);
    expect(waiting.html).toContain('id="phase">Waiting for approval<');
    expect(waiting.html).toContain(`<strong id="user-code">${code}</strong>`);

    // Not logged in on the portal: to the login page, then "Sign up" keeping where to go next.
    const [toLogin, loginPage] = await browser.follow(enabled.location!);
    expect(toLogin!.status).toBe(303);
    expect(loginPage!.status).toBe(200);
    const next = new URL(loginPage!.url).searchParams.get('next')!;
    expect(next).toBe(`/claim?code=${code}`);
    const signUpPage = await browser.get(`${hub.portalUrl}/signup?next=${encodeURIComponent(next)}`);
    const signedUp = await browser.post(signUpPage, '/signup', OWNER);
    expect(signedUp.status).toBe(303);
    expect(signedUp.location).toBe(`${hub.portalUrl}${next}`);

    const approvePage = await browser.get(signedUp.location!);
    expect(approvePage.status).toBe(200);
    const text = visibleText(approvePage.html);
    expect(text).toContain(`Device ${SERIAL} asks to be connected to your account ${OWNER.email}`);
    expect(text).toContain(`Afterwards you return to the device at ${new URL(device.pageUrl).host}`);
    const approved = await browser.post(approvePage, '/claim', { action: 'approve' });
    expect(approved.status).toBe(303);
    expect(approved.location).toBe(`${device.pageUrl}?claim=approved`);
    approvedReturn = await browser.get(approved.location!);
    expect(approvedReturn.status).toBe(200);
    expect(approvedReturn.html).toContain('Approved on the portal.');
  });

  it("the agent's poll gets the registration, the tunnel comes up and the page shows the public URL", async () => {
    const publicUrl = `http://${SERIAL}.localhost:${hub.httpPort}/`;
    const started = performance.now();
    const online = await until(
      async () => {
        const page = await browser.get(`${device.pageUrl}?claim=approved`);
        return page.html.includes('id="phase">Online<') ? page : undefined;
      },
      'the device page to show Online',
      20_000,
      200,
    );
    console.log(`claim flow: approval to "Online" on the device page in ${Math.round(performance.now() - started)} ms (poll interval included)`);
    expect(online.html).toContain(`This device is reachable at <a href="${publicUrl}" id="public-url-banner">${publicUrl}</a>.`);
    expect(online.html).toContain(`<dd id="public-url"><a href="${publicUrl}">${publicUrl}</a></dd>`);
    expect(online.html).toMatch(new RegExp(`WireGuard/UDP to 127\\.0\\.0\\.1:${hub.udpPort}`));
    const status = device.agent.status();
    expect(status).toMatchObject({ phase: 'online', enabled: true, registered: true, publicUrl });
    // The hub agrees: the device belongs to the owner and has a handshake from this agent's key.
    const row = (await hub.api('GET', `/devices/${SERIAL}`)).json;
    expect(row.tunnelIp).toBe(status.tunnelIp);
    expect(row.publicKey).toBe(device.agent.publicKey);
    expect(hub.hub.overlay.isOnline(status.tunnelIp!)).toBe(true);
  });

  it("a visitor (the owner, through the portal ticket) gets the device's own web UI through the hub", async () => {
    const publicUrl = device.agent.status().publicUrl!;
    const hops = await browser.follow(publicUrl);
    // device host → portal /auth/device → device host /.porthole/auth (ticket) → the page itself
    expect(hops.map((h) => `${h.status} ${new URL(h.url).host}${new URL(h.url).pathname}`)).toEqual([
      `302 ${SERIAL}.localhost:${hub.httpPort}/`,
      `303 localhost:${hub.httpPort}/auth/device`,
      `302 ${SERIAL}.localhost:${hub.httpPort}/.porthole/auth`,
      `200 ${SERIAL}.localhost:${hub.httpPort}/`,
    ]);
    const page = hops.at(-1)!;
    expect(page.html).toContain(`<h1>Meter ${SERIAL}</h1>`);
    // Forwarded by the agent to its target with the target's Host; the self-link points at the public URL.
    expect(page.html).toContain(`<p id="host">127.0.0.1:${device.device.port}</p>`);
    expect(page.html).toContain(`<a href="${publicUrl}settings">settings</a>`);
    expect(deviceSaw.at(-1)).toBe('GET /');
  });

  it('Disable on the local page tears the tunnel down before it answers; the hub then answers with a status page', async () => {
    const page = await localPage();
    const tunnelIp = device.agent.status().tunnelIp!;
    const hubTcp = hub.hub.overlay.netstack.stats.tcp;
    const resetsBefore = hubTcp.resetsReceived;
    const t0 = performance.now();
    const disabled = await browser.post(page, '/disable');
    const disableMs = performance.now() - t0;
    expect(disabled.status).toBe(303);
    // The response comes after the local teardown: no tunnel, no transport, state persisted as off.
    expect(device.agent.status()).toMatchObject({ phase: 'off', enabled: false, registered: true, transport: undefined });
    const after = await browser.get(device.pageUrl);
    expect(after.html).toContain('id="phase">Off<');
    expect(after.html).toContain('id="enable">Enable remote access<');

    // The agent's stack aborted its connections with RST before its socket closed (regression: the
    // RSTs were dropped, so the hub reused its pooled connection and the visitor waited 60 s for a 504).
    await until(() => hubTcp.resetsReceived > resetsBefore, "the agent's RST at the hub", 2000, 5);
    // And the agent's last packet ("administratively prohibited") tells the hub why: it refuses at
    // once with a page saying remote access was turned off on the device (before: a 504 after the
    // dial timeout, the hub learning only by silence).
    const seenBefore = deviceSaw.length;
    const t1 = performance.now();
    const visit = await browser.get(device.agent.status().publicUrl!);
    const visitMs = performance.now() - t1;
    expect(visit.status).toBe(502);
    const text = visibleText(visit.html);
    expect(text).toContain('Remote access turned off on the device');
    expect(text).toContain(`Device ${SERIAL}`);
    expect(text).toContain(`HTTP ${visit.status}`);
    expect(deviceSaw.length).toBe(seenBefore);
    expect(hub.hub.overlay.isOnline(tunnelIp)).toBe(false);
    console.log(
      `Disable: local teardown ${disableMs.toFixed(1)} ms (POST to 303); the hub's "turned off" page ${Math.round(performance.now() - t0)} ms ` +
        `after pressing Disable (the visit itself ${Math.round(visitMs)} ms)`,
    );
  });

  it('Enable again brings the same registration back without a new claim', async () => {
    const page = await localPage();
    const enabled = await browser.post(page, '/enable');
    expect(enabled.status).toBe(303);
    expect(enabled.location).toBe(device.pageUrl); // no trip to the portal
    const t0 = performance.now();
    await until(() => device.agent.status().phase === 'online', 'the tunnel back online', 15_000);
    const res = await until(async () => {
      const r = await browser.get(device.agent.status().publicUrl!);
      return r.status === 200 ? r : undefined;
    }, 'the device page through the hub again', 15_000, 100);
    console.log(`Enable after Disable: device served through the hub again after ${Math.round(performance.now() - t0)} ms`);
    expect(res.html).toContain(`<h1>Meter ${SERIAL}</h1>`);
  });
});

describe('a claim denied on the portal', () => {
  it('keeps the owner on the portal saying so (never the claim’s returnUrl); the agent stops polling and stays off', async () => {
    const polls: number[] = [];
    const other = await startAgentHarness({
      hubUrl: hub.portalUrl,
      serial: 'an20000002',
      fetch: (input, init) => {
        if (new URL(String(input)).pathname === '/api/v1/claims/poll') polls.push(performance.now());
        return fetch(input, init);
      },
    });
    try {
      // The same owner, still logged in on the portal (its cookie is on the portal host).
      const owner = new TestBrowser();
      owner.jars.set('localhost', new Map(browser.cookies('localhost')));
      let page = await owner.get(other.pageUrl);
      await owner.post(page, '/login', { password: LOCAL_PASSWORD });
      page = await owner.get(other.pageUrl);
      const enabled = await owner.post(page, '/enable');
      const approvePage = await owner.get(enabled.location!);
      expect(visibleText(approvePage.html)).toContain('Device an20000002 asks to be connected to your account');
      const denied = await owner.post(approvePage, '/claim', { action: 'deny' });
      // A denial never follows the returnUrl the claim's starter chose (a phishing device's page).
      expect(denied.status).toBe(200);
      expect(denied.location).toBeUndefined();
      expect(visibleText(denied.html)).toContain('Device an20000002 was not connected.');

      // The agent's next poll hears access_denied (RFC 8628 §3.5) and stops.
      await until(() => other.agent.status().lastError, 'the denial at the agent', 15_000, 50);
      expect(other.agent.status()).toMatchObject({ phase: 'off', registered: false, claim: undefined, lastError: 'The request was denied on the portal.' });
      expect((await hub.api('GET', '/devices/an20000002')).status).toBe(404);
      expect(other.phases).toEqual(['off', 'waiting-approval', 'off']);
      // The hub asks for a poll every 2 s: none comes in the next 3 s.
      const pollsAtDenial = polls.length;
      await new Promise((r) => setTimeout(r, 3000));
      expect(polls.length).toBe(pollsAtDenial);
    } finally {
      await other.close();
    }
  });
});
