// The isolation decision table: every Sec-Fetch-Site / -Mode / -Dest, Origin and method combination
// the hub distinguishes, one row each, then an exhaustive sweep over all combinations asserting the
// invariants the table exists for (no cross-origin write, no foreign WebSocket, no framed device).
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { deviceOrigin, isTopLevelNavigation, isolationVerdict, refusalText } from './resource-isolation.js';

const DEVICE = 'https://an1.example.io';
const SIBLING = 'https://an2.example.io';

type Row = [string, string, IncomingHttpHeaders, boolean, string];

/** `allow:<basis>` or `refuse:<reason>:<cross-origin?>`. */
function outcome(method: string, headers: IncomingHttpHeaders, websocket: boolean): string {
  const v = isolationVerdict({ method, headers, deviceOrigin: DEVICE, websocket });
  return v.allowed ? `allow:${v.basis}` : `refuse:${v.reason}:${v.crossOrigin ? 'cross' : 'unknown'}`;
}

const fm = (site: string, mode: string, dest: string, origin?: string): IncomingHttpHeaders => ({
  'sec-fetch-site': site,
  'sec-fetch-mode': mode,
  'sec-fetch-dest': dest,
  ...(origin !== undefined ? { origin } : {}),
});

describe('isolation decision table', () => {
  const rows: Row[] = [
    // The device's own pages.
    ['own page fetch', 'GET', fm('same-origin', 'cors', 'empty', DEVICE), false, 'allow:same-origin'],
    ['own page POST', 'POST', fm('same-origin', 'cors', 'empty', DEVICE), false, 'allow:same-origin'],
    ['own form POST', 'POST', fm('same-origin', 'navigate', 'document', DEVICE), false, 'allow:same-origin'],
    ['own link', 'GET', fm('same-origin', 'navigate', 'document'), false, 'allow:same-origin'],
    ['own iframe', 'GET', fm('same-origin', 'navigate', 'iframe'), false, 'allow:same-origin'],
    ['own image', 'GET', fm('same-origin', 'no-cors', 'image'), false, 'allow:same-origin'],
    ['same-origin with a foreign Origin', 'POST', fm('same-origin', 'cors', 'empty', SIBLING), false, 'refuse:malformed:cross'],
    ['same-origin with Origin null', 'POST', fm('same-origin', 'cors', 'empty', 'null'), false, 'refuse:malformed:cross'],
    // The visitor typed the address or used a bookmark.
    ['typed address', 'GET', fm('none', 'navigate', 'document'), false, 'allow:user-navigation'],
    ['bookmark HEAD', 'HEAD', fm('none', 'navigate', 'document'), false, 'allow:user-navigation'],
    ['none but not a navigation', 'GET', fm('none', 'cors', 'empty'), false, 'refuse:malformed:unknown'],
    ['none with a foreign Origin', 'POST', fm('none', 'navigate', 'document', SIBLING), false, 'refuse:malformed:unknown'],
    // Top-level navigations from elsewhere (a sibling device, the portal, another site).
    ['link from a sibling device', 'GET', fm('same-site', 'navigate', 'document'), false, 'allow:top-level-navigation'],
    ['link from another site', 'GET', fm('cross-site', 'navigate', 'document'), false, 'allow:top-level-navigation'],
    ['HEAD navigation', 'HEAD', fm('cross-site', 'navigate', 'document'), false, 'allow:top-level-navigation'],
    ['form POST from a sibling', 'POST', fm('same-site', 'navigate', 'document', SIBLING), false, 'refuse:cross-origin-write:cross'],
    ['form POST from another site', 'POST', fm('cross-site', 'navigate', 'document', 'https://evil.example'), false, 'refuse:cross-origin-write:cross'],
    ['PUT navigation', 'PUT', fm('same-site', 'navigate', 'document'), false, 'refuse:cross-origin-write:cross'],
    ['navigation without Sec-Fetch-Dest', 'GET', { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate' }, false, 'refuse:malformed:cross'],
    // Framed by another origin (clickjacking, UI redress).
    ['iframe on a sibling', 'GET', fm('same-site', 'navigate', 'iframe'), false, 'refuse:embedded:cross'],
    ['frame on another site', 'GET', fm('cross-site', 'navigate', 'frame'), false, 'refuse:embedded:cross'],
    ['embed', 'GET', fm('same-site', 'navigate', 'embed'), false, 'refuse:embedded:cross'],
    ['object', 'GET', fm('same-site', 'navigate', 'object'), false, 'refuse:embedded:cross'],
    // Subresources and scripts of another origin.
    ['fetch GET from a sibling', 'GET', fm('same-site', 'cors', 'empty', SIBLING), false, 'refuse:cross-origin:cross'],
    ['fetch POST from a sibling', 'POST', fm('same-site', 'cors', 'empty', SIBLING), false, 'refuse:cross-origin:cross'],
    ['no-cors POST from a sibling', 'POST', fm('same-site', 'no-cors', 'empty', SIBLING), false, 'refuse:cross-origin:cross'],
    ['image on a sibling', 'GET', fm('same-site', 'no-cors', 'image'), false, 'refuse:cross-origin:cross'],
    ['script on another site', 'GET', fm('cross-site', 'no-cors', 'script'), false, 'refuse:cross-origin:cross'],
    ['style on a sibling', 'GET', fm('same-site', 'no-cors', 'style'), false, 'refuse:cross-origin:cross'],
    ['same-origin mode from a sibling', 'GET', fm('same-site', 'same-origin', 'empty'), false, 'refuse:cross-origin:cross'],
    ['unknown Sec-Fetch-Site', 'GET', fm('sideways', 'navigate', 'document'), false, 'refuse:malformed:cross'],
    ['duplicated Sec-Fetch-Site', 'GET', { 'sec-fetch-site': 'same-origin, cross-site', 'sec-fetch-mode': 'cors' }, false, 'refuse:malformed:cross'],
    // No Fetch Metadata (plain HTTP, old browsers, scripts): Origin decides; without it only GET/HEAD.
    ['no metadata GET', 'GET', {}, false, 'allow:no-metadata-safe-method'],
    ['no metadata HEAD', 'HEAD', {}, false, 'allow:no-metadata-safe-method'],
    ['no metadata POST', 'POST', {}, false, 'refuse:no-origin-write:unknown'],
    ['no metadata PUT', 'PUT', {}, false, 'refuse:no-origin-write:unknown'],
    ['no metadata PATCH', 'PATCH', {}, false, 'refuse:no-origin-write:unknown'],
    ['no metadata DELETE', 'DELETE', {}, false, 'refuse:no-origin-write:unknown'],
    ['no metadata OPTIONS', 'OPTIONS', {}, false, 'refuse:no-origin-write:unknown'],
    ['old browser POST from the device', 'POST', { origin: DEVICE }, false, 'allow:same-origin'],
    ['old browser GET from the device', 'GET', { origin: DEVICE }, false, 'allow:same-origin'],
    ['old browser POST from a sibling', 'POST', { origin: SIBLING }, false, 'refuse:cross-origin:cross'],
    ['old browser CORS GET from a sibling', 'GET', { origin: SIBLING }, false, 'refuse:cross-origin:cross'],
    ['Origin null', 'POST', { origin: 'null' }, false, 'refuse:cross-origin:cross'],
    ['Origin on another port', 'POST', { origin: 'https://an1.example.io:8443' }, false, 'refuse:cross-origin:cross'],
    ['Origin with another scheme', 'POST', { origin: 'http://an1.example.io' }, false, 'refuse:cross-origin:cross'],
    ['Origin with a path', 'POST', { origin: `${DEVICE}/` }, false, 'refuse:cross-origin:cross'],
    ['Origin of a longer host', 'POST', { origin: `${DEVICE}.evil.example` }, false, 'refuse:cross-origin:cross'],
    // WebSockets: Origin must be the device's own.
    ['WebSocket from the device', 'GET', { origin: DEVICE }, true, 'allow:same-origin'],
    ['WebSocket from the device with metadata', 'GET', fm('same-origin', 'websocket', 'websocket', DEVICE), true, 'allow:same-origin'],
    ['WebSocket from a sibling', 'GET', fm('same-site', 'websocket', 'websocket', SIBLING), true, 'refuse:websocket-origin:cross'],
    ['WebSocket from another site', 'GET', { origin: 'https://evil.example' }, true, 'refuse:websocket-origin:cross'],
    ['WebSocket with Origin null', 'GET', { origin: 'null' }, true, 'refuse:websocket-origin:cross'],
    ['WebSocket without Origin (not a browser)', 'GET', {}, true, 'refuse:websocket-origin:unknown'],
    ['WebSocket with the device Origin but cross-site metadata', 'GET', fm('cross-site', 'websocket', 'websocket', DEVICE), true, 'refuse:malformed:cross'],
  ];

  it.each(rows)('%s: %s', (_name, method, headers, websocket, expected) => {
    expect(outcome(method, headers, websocket)).toBe(expected);
  });

  it('names the initiating origin of a refusal, never "null" or the device itself', () => {
    const v = isolationVerdict({ method: 'POST', headers: { origin: SIBLING }, deviceOrigin: DEVICE, websocket: false });
    expect(v).toMatchObject({ allowed: false, from: SIBLING });
    const opaque = isolationVerdict({ method: 'POST', headers: { origin: 'null' }, deviceOrigin: DEVICE, websocket: false });
    expect(opaque).toMatchObject({ allowed: false });
    expect('from' in opaque).toBe(false);
  });
});

describe('isolation invariants over every combination', () => {
  const sites = [undefined, 'same-origin', 'same-site', 'cross-site', 'none', 'bogus'];
  const modes = [undefined, 'navigate', 'cors', 'no-cors', 'same-origin', 'websocket'];
  const dests = [undefined, 'document', 'iframe', 'frame', 'image', 'script', 'empty', 'websocket'];
  const origins = [undefined, DEVICE, SIBLING, 'null', 'https://evil.example'];
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

  it('never authenticates a write from elsewhere, a foreign WebSocket or a framed device', () => {
    let checked = 0;
    for (const site of sites)
      for (const mode of modes)
        for (const dest of dests)
          for (const origin of origins)
            for (const method of methods)
              for (const websocket of [false, true]) {
                const headers: IncomingHttpHeaders = {};
                if (site) headers['sec-fetch-site'] = site;
                if (mode) headers['sec-fetch-mode'] = mode;
                if (dest) headers['sec-fetch-dest'] = dest;
                if (origin) headers.origin = origin;
                const v = isolationVerdict({ method, headers, deviceOrigin: DEVICE, websocket });
                checked++;
                if (!v.allowed) continue;
                const where = JSON.stringify({ method, headers, websocket });
                const foreign = origin !== undefined && origin !== DEVICE;
                // A WebSocket only from the device's own origin.
                if (websocket) expect(origin, where).toBe(DEVICE);
                // Another origin's page gets the cookie only for a top-level GET/HEAD navigation.
                if (site === 'same-site' || site === 'cross-site' || foreign) {
                  expect([site, mode, dest], where).toEqual([site === 'same-site' ? 'same-site' : 'cross-site', 'navigate', 'document']);
                  expect(['GET', 'HEAD'], where).toContain(method);
                }
                // Writes need proof they come from the device or from the user.
                if (method !== 'GET' && method !== 'HEAD') {
                  expect(site === 'same-origin' || site === 'none' || (site === undefined && origin === DEVICE), where).toBe(true);
                }
                expect(site === undefined || ['same-origin', 'same-site', 'cross-site', 'none'].includes(site), where).toBe(true);
              }
    expect(checked).toBe(sites.length * modes.length * dests.length * origins.length * methods.length * 2);
  });
});

describe('device origin', () => {
  it.each([
    ['https', 'an1.example.io', 'https://an1.example.io'],
    ['https', 'an1.example.io:443', 'https://an1.example.io'],
    ['http', 'an1.example.io:80', 'http://an1.example.io'],
    ['http', 'an1.localhost:8080', 'http://an1.localhost:8080'],
    ['https', 'an1.example.io:8443', 'https://an1.example.io:8443'],
  ] as const)('%s + %s = %s', (proto, host, origin) => {
    expect(deviceOrigin(proto, host)).toBe(origin);
  });
  it('is undefined for a host that does not parse', () => {
    expect(deviceOrigin('https', 'a b')).toBeUndefined();
  });
});

describe('ticket redemption only as a top-level navigation', () => {
  it.each([
    [{}, true],
    [{ 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, true],
    [{ 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' }, false],
    [{ 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }, false],
    [{ 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, false],
  ] as const)('%j → %s', (headers, ok) => {
    expect(isTopLevelNavigation(headers)).toBe(ok);
  });
});

describe('refusal text', () => {
  it('names the device and the initiating page, and tells what to do', () => {
    const t = refusalText('cross-origin-write', 'an1', SIBLING);
    expect(t.title).toBe('Form from another site refused');
    expect(t.message).toContain(`a page on ${SIBLING}`);
    expect(t.message).toContain('device an1');
    expect(refusalText('no-origin-write', 'an1', undefined).message).toContain('API token');
  });
});
