// In-process fake of the hub's registry HTTP contract (register, claims, claims/poll), for agent
// tests until they run against the real hub. Implements the documented statuses and error codes,
// including slow_down when polled faster than `interval`.
import { Hono } from 'hono';
import { randomBytes } from 'node:crypto';
import type { Registration } from '../registration.js';

export interface FakeRegistryOptions {
  hubPublicKey: string;
  endpoint: string;
  /** Public URL for a serial. */
  urlFor?: (serial: string) => string;
  enrollmentTokens?: string[];
  intervalSeconds?: number;
  expiresInSeconds?: number;
  now?: () => number;
  persistentKeepalive?: number;
  /** A cluster's nodes, listed in the registration answer as `hub.endpoints` (absent: a single hub). */
  endpoints?: string[];
}

interface Claim {
  serial: string;
  publicKey: string;
  userCode: string;
  pollToken: string;
  returnUrl: string | undefined;
  createdAt: number;
  lastPollAt: number | undefined;
  state: 'pending' | 'approved' | 'denied';
}

export interface FakeRegistry {
  app: Hono;
  claims: Claim[];
  registrations: Map<string, Registration & { publicKey: string }>;
  requests: string[];
  approve(userCode: string): string | undefined;
  deny(userCode: string): void;
}

const err = (code: string, message: string) => ({ error: { code, message } });

export function createFakeRegistry(o: FakeRegistryOptions): FakeRegistry {
  const now = o.now ?? Date.now;
  const interval = o.intervalSeconds ?? 2;
  const expiresIn = o.expiresInSeconds ?? 600;
  const urlFor = o.urlFor ?? ((s: string) => `http://${s}.devices.test/`);
  const claims: Claim[] = [];
  const registrations = new Map<string, Registration & { publicKey: string }>();
  const requests: string[] = [];
  const tokens = new Set(o.enrollmentTokens ?? []);
  let nextHost = 2;

  const register = (serial: string, publicKey: string): { reg: Registration; created: boolean } | 'conflict' => {
    const existing = registrations.get(serial);
    if (existing) {
      if (existing.publicKey !== publicKey) return 'conflict';
      const { publicKey: _k, ...reg } = existing;
      return { reg, created: false };
    }
    for (const r of registrations.values()) if (r.publicKey === publicKey) return 'conflict';
    const reg: Registration = {
      serial,
      tunnelIp: `100.64.0.${nextHost++}`,
      overlayCidr: '100.64.0.0/10',
      hub: { publicKey: o.hubPublicKey, endpoint: o.endpoint, ...(o.endpoints ? { endpoints: o.endpoints } : {}), tunnelIp: '100.64.0.1' },
      url: urlFor(serial),
      persistentKeepalive: o.persistentKeepalive ?? 25,
    };
    registrations.set(serial, { ...reg, publicKey });
    return { reg, created: true };
  };

  const app = new Hono();
  app.use('*', async (c, next) => {
    requests.push(`${c.req.method} ${new URL(c.req.url).pathname}`);
    await next();
  });
  app.post('/api/v1/devices/register', async (c) => {
    const b = (await c.req.json()) as { serial: string; publicKey: string; enrollmentToken: string };
    if (!tokens.has(b.enrollmentToken)) return c.json(err('unauthorized', 'enrollment token invalid'), 401);
    const r = register(b.serial.toLowerCase(), b.publicKey);
    if (r === 'conflict') return c.json(err('conflict', 'serial registered with another key'), 409);
    return c.json(r.reg, r.created ? 201 : 200);
  });
  app.post('/api/v1/claims', async (c) => {
    const b = (await c.req.json()) as { serial: string; publicKey: string; returnUrl?: string };
    const letters = 'BCDFGHJKLMNPQRSTVWXZ';
    const pick = () => Array.from(randomBytes(4), (x) => letters[x % letters.length]).join('');
    const claim: Claim = {
      serial: b.serial.toLowerCase(),
      publicKey: b.publicKey,
      userCode: `${pick()}-${pick()}`,
      pollToken: randomBytes(16).toString('base64url'),
      returnUrl: b.returnUrl,
      createdAt: now(),
      lastPollAt: undefined,
      state: 'pending',
    };
    claims.push(claim);
    const portal = new URL(c.req.url).origin;
    return c.json(
      {
        userCode: claim.userCode,
        verificationUri: `${portal}/claim`,
        verificationUriComplete: `${portal}/claim?code=${claim.userCode}`,
        pollToken: claim.pollToken,
        expiresIn,
        interval,
      },
      201,
    );
  });
  app.post('/api/v1/claims/poll', async (c) => {
    const b = (await c.req.json()) as { pollToken: string };
    const claim = claims.find((x) => x.pollToken === b.pollToken);
    if (!claim || now() > claim.createdAt + expiresIn * 1000) return c.json(err('expired_token', 'claim expired'), 400);
    if (claim.lastPollAt !== undefined && now() - claim.lastPollAt < interval * 1000) {
      claim.lastPollAt = now();
      return c.json(err('slow_down', 'polling too fast'), 429);
    }
    claim.lastPollAt = now();
    if (claim.state === 'denied') return c.json(err('access_denied', 'denied'), 403);
    if (claim.state === 'pending') return c.json({ status: 'pending' });
    const r = register(claim.serial, claim.publicKey);
    if (r === 'conflict') return c.json(err('conflict', 'conflict'), 409);
    return c.json({ status: 'approved', registration: r.reg });
  });
  // The portal approval page's effect, minus the login: returns where the browser would go next.
  app.get('/claim', (c) => c.text(`approve ${c.req.query('code')}`));

  return {
    app,
    claims,
    registrations,
    requests,
    approve(userCode) {
      const claim = claims.find((x) => x.userCode === userCode);
      if (!claim) return undefined;
      claim.state = 'approved';
      if (!claim.returnUrl) return undefined;
      const u = new URL(claim.returnUrl);
      u.searchParams.set('claim', 'approved');
      return u.href;
    },
    deny(userCode) {
      const claim = claims.find((x) => x.userCode === userCode);
      if (claim) claim.state = 'denied';
    },
  };
}
