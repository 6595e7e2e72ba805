// Webhook signatures: `X-Porthole-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
// the scheme Stripe made common. The timestamp is signed with the body, so a receiver that refuses
// old timestamps (we suggest 5 minutes) cannot be fed a recorded delivery again.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-porthole-signature';
export const EVENT_HEADER = 'x-porthole-event';
export const DELIVERY_HEADER = 'x-porthole-delivery';

export function signatureValue(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}

/** The header value for `body` sent at `timestampSeconds`. */
export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${signatureValue(secret, timestampSeconds, body)}`;
}

/**
 * A receiver's check: true when one `v1` of `header` is the signature of `body` with `secret` and
 * its `t` is within `toleranceSeconds` of `nowSeconds`. Several v1 values may appear (a secret being
 * rotated); any one matching is enough.
 */
export function verifySignature(secret: string, header: string | undefined, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!header) return false;
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (t === undefined || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureValue(secret, t, body), 'hex');
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
}
