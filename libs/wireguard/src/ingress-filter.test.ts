// The ingress filter's verdicts: transport data and cookie replies pass untouched; a handshake
// message passes on mac1 alone until the source floods, then needs mac2 (a cookie reply is sent
// instead) and is rate-limited per address; malformed datagrams and bad mac1 never pass.
import { describe, expect, it, vi } from 'vitest';
import { CookieChecker } from './cookie.js';
import { IngressFilter } from './ingress-filter.js';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from './keys.js';
import { bogusInitiations } from './testing/flood.js';

const publicKey = publicKeyFromPrivate(generatePrivateKey());
const FROM = { address: '192.0.2.7', port: 4000 };

function filterWith(underLoad?: boolean) {
  const replies: Uint8Array[] = [];
  const filter = new IngressFilter({ publicKey, transmit: (d) => replies.push(d), ...(underLoad === undefined ? {} : { underLoad }) });
  return { filter, replies };
}

describe('IngressFilter', () => {
  it('passes transport data and cookie replies, drops what has no WireGuard shape', () => {
    const { filter } = filterWith();
    const transport = new Uint8Array(32);
    transport[0] = 4;
    const cookieReply = new Uint8Array(64);
    cookieReply[0] = 3;
    expect(filter.check(transport, FROM, 0)).toBeUndefined();
    expect(filter.check(cookieReply, FROM, 0)).toBeUndefined();
    expect(filter.check(new Uint8Array(8), FROM, 0)).toBe('too-short');
    const unknown = new Uint8Array(40);
    unknown[0] = 9;
    expect(filter.check(unknown, FROM, 0)).toBe('unknown-type');
    const shortInitiation = new Uint8Array(100);
    shortInitiation[0] = 1;
    expect(filter.check(shortInitiation, FROM, 0)).toBe('bad-size');
  });

  it('drops a bad mac1 always, and under load answers a valid-mac1 initiation without mac2 with a cookie reply', () => {
    const [initiation] = bogusInitiations(encodeKey(publicKey), 1);
    const forged = Uint8Array.prototype.slice.call(initiation!);
    forged[120] ^= 1;
    const quiet = filterWith(false);
    expect(quiet.filter.check(forged, FROM, 0)).toBe('bad-mac1');
    expect(quiet.filter.check(initiation!, FROM, 0)).toBeUndefined();
    expect(quiet.replies).toHaveLength(0);
    const loaded = filterWith(true);
    expect(loaded.filter.check(initiation!, FROM, 0)).toBe('cookie-required');
    expect(loaded.replies).toHaveLength(1);
    expect(loaded.replies[0]![0]).toBe(3);
  });

  it('goes under load by itself past 1,000 initiations without mac2 a second', () => {
    const { filter, replies } = filterWith();
    const messages = bogusInitiations(encodeKey(publicKey), 16);
    const verdicts = Array.from({ length: 1_200 }, (_, i) => filter.check(messages[i % 16]!, { address: `198.51.100.${i % 200}`, port: 1000 + i }, i / 2));
    expect(verdicts.slice(0, 1_000).every((v) => v === undefined)).toBe(true);
    expect(verdicts.slice(1_000).every((v) => v === 'cookie-required')).toBe(true);
    expect(replies.length).toBe(200); // one each: every source is within its own reply budget
  });

  it('under load, drops datagrams from an address out of cookie-reply budget before mac1, and keeps the load', () => {
    const { filter, replies } = filterWith();
    const messages = bogusInitiations(encodeKey(publicKey), 16);
    const flooder = (i: number) => ({ address: '203.0.113.66', port: 1024 + (i % 60_000) });
    // Into load: 1,001 valid-mac1 initiations without mac2 within a second.
    for (let i = 0; i <= 1_000; i++) filter.check(messages[i % 16]!, { address: `198.51.100.${i % 200}`, port: 1000 + i }, i / 2);
    const repliedBefore = replies.length;
    const mac1 = vi.spyOn(CookieChecker.prototype, 'checkMac1');
    try {
      const verdicts: (string | undefined)[] = [];
      // Three seconds of one address flooding at 10,000/s (fake clock).
      for (let i = 0; i < 30_000; i++) verdicts.push(filter.check(messages[i % 16]!, flooder(i), 600 + i / 10));
      expect(verdicts.every((v) => v === 'cookie-required')).toBe(true);
      // Its burst of 5 replies, then 20 a second: only datagrams that could earn one were MACed.
      const floodReplies = replies.length - repliedBefore;
      expect(floodReplies).toBeGreaterThanOrEqual(5);
      expect(floodReplies).toBeLessThanOrEqual(5 + 3 * 20 + 1);
      expect(mac1.mock.calls.length).toBe(floodReplies);
      // Still under load after three seconds of a flood that was (almost) never MACed.
      expect(filter.check(messages[0]!, { address: '192.0.2.200', port: 7 }, 3_600)).toBe('cookie-required');
    } finally {
      mac1.mockRestore();
    }
  });

  it('under load, bad-mac1 junk from an address does not spend its cookie-reply budget', () => {
    const { filter, replies } = filterWith(true);
    const [initiation] = bogusInitiations(encodeKey(publicKey), 1);
    const forged = Uint8Array.prototype.slice.call(initiation!);
    forged[120] ^= 1;
    const from = (port: number) => ({ address: '203.0.113.7', port });
    for (let i = 0; i < 1_000; i++) expect(filter.check(forged, from(2000 + i), 10)).toBe('bad-mac1');
    expect(filter.check(initiation!, from(4000), 10)).toBe('cookie-required');
    expect(replies).toHaveLength(1);
  });
});
