// crossSiteReason: the fetch-metadata half of the page's CSRF defence, including what real browsers
// send for a same-origin form post from a `Referrer-Policy: no-referrer` page (found by the NAT lab).
import { describe, expect, it } from 'vitest';
import { crossSiteReason } from './guard.js';

const ORIGIN = 'http://127.0.0.1:8080';

describe('crossSiteReason', () => {
  it.each([
    [{}, undefined],
    [{ 'sec-fetch-site': 'same-origin', origin: ORIGIN }, undefined],
    [{ 'sec-fetch-site': 'none' }, undefined],
    // Chromium posting a form from a no-referrer page of the same origin.
    [{ 'sec-fetch-site': 'same-origin', origin: 'null' }, undefined],
    [{ origin: 'null' }, 'Origin: null'],
    [{ 'sec-fetch-site': 'cross-site', origin: 'null' }, 'Sec-Fetch-Site: cross-site'],
    [{ 'sec-fetch-site': 'same-site', origin: 'http://evil.127.0.0.1:8080' }, 'Sec-Fetch-Site: same-site'],
    [{ origin: 'http://evil.example' }, `Origin http://evil.example is not ${ORIGIN}`],
  ])('%j → %s', (headers, expected) => {
    expect(crossSiteReason(new Headers(headers as Record<string, string>), ORIGIN)).toBe(expected);
  });
});
