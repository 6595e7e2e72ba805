// OpenID Connect relying party (OIDC Core 1.0 §3.1, authorization code flow) through openid-client:
// discovery from the issuer URL, PKCE with S256 (RFC 7636), `state` against cross-site requests and
// `nonce` against ID-token replay, ID-token validation (iss, aud, exp, nonce) by the library. The
// three per-sign-in values are derived from one random secret that lives only in the browser's
// flow cookie (HMAC-SHA256 with a label each), so nothing is stored on the hub between the redirect
// and the callback and any node of a cluster can finish a sign-in another started.
import { createHmac, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { ForbiddenError, UnauthorizedError, UnavailableError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { ExternalIdentity } from './identity-provisioning.js';
import { flattenClaims } from './role-mapping.js';

export interface OidcSettings {
  /** The provider's issuer URL; `<issuer>/.well-known/openid-configuration` describes it. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where the provider sends the browser back: `<portal>/login/oidc/callback`. */
  redirectUri: string;
  /** Space-separated; `openid` is always requested. */
  scopes: string;
  /** Shown on the button and in messages. */
  name: string;
  /** Each request to the provider (discovery, token, userinfo). */
  timeoutMs?: number;
}

export interface OidcStart {
  /** Where to send the browser. */
  authorizationUrl: string;
  /** The secret the flow cookie keeps; finish() needs it back. */
  flowSecret: string;
}

/** Re-read the discovery document this often (keys and endpoints can change). */
const DISCOVERY_TTL_MS = 3600_000;
const FLOW_SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

/** One of the values a sign-in derives from its secret: 32 bytes, base64url (a valid PKCE verifier, RFC 7636 §4.1). */
function derive(flowSecret: string, label: 'state' | 'nonce' | 'pkce-verifier'): string {
  return createHmac('sha256', flowSecret).update(`porthole oidc ${label}`).digest('base64url');
}

/** Loopback issuers may use plain HTTP (a provider on the same machine); everything else HTTPS. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname === '[::1]');
}

function short(text: unknown): string {
  return String(text ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 120);
}

export interface OidcRelyingParty {
  readonly name: string;
  start(): Promise<OidcStart>;
  /** Checks the callback against the flow's secret, redeems the code and returns who signed in. */
  finish(callbackParams: URLSearchParams, flowSecret: string): Promise<ExternalIdentity>;
}

export function createOidcRelyingParty(settings: OidcSettings, logger?: Logger): OidcRelyingParty {
  const log = logger?.child({ component: 'oidc' });
  const issuerUrl = new URL(settings.issuer);
  const scopes = [...new Set(['openid', ...settings.scopes.split(/\s+/).filter(Boolean)])].join(' ');
  let cached: { config: oidc.Configuration; at: number } | undefined;
  let inflight: Promise<oidc.Configuration> | undefined;

  /** The provider's metadata, discovered on first use (a provider that is down does not stop the hub). */
  async function configuration(): Promise<oidc.Configuration> {
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
    inflight ??= (async () => {
      try {
        const config = await oidc.discovery(issuerUrl, settings.clientId, settings.clientSecret, oidc.ClientSecretBasic(settings.clientSecret), {
          timeout: Math.ceil((settings.timeoutMs ?? 10_000) / 1000),
          ...(isLoopbackHttp(issuerUrl) ? { execute: [oidc.allowInsecureRequests] } : {}),
        });
        cached = { config, at: Date.now() };
        return config;
      } catch (err) {
        log?.warn('provider discovery failed', { issuer: settings.issuer, err: short((err as Error).message) });
        // A stale document beats none while the provider is briefly away.
        if (cached) return cached.config;
        throw new UnavailableError(`${settings.name} cannot be reached right now; try again in a moment`, { cause: err });
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  async function start(): Promise<OidcStart> {
    const config = await configuration();
    const flowSecret = randomBytes(32).toString('base64url');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: settings.redirectUri,
      scope: scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(derive(flowSecret, 'pkce-verifier')),
      code_challenge_method: 'S256',
      state: derive(flowSecret, 'state'),
      nonce: derive(flowSecret, 'nonce'),
    });
    return { authorizationUrl: url.href, flowSecret };
  }

  async function redeem(config: oidc.Configuration, params: URLSearchParams, flowSecret: string) {
    const current = new URL(settings.redirectUri);
    current.search = params.toString();
    try {
      return await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: derive(flowSecret, 'pkce-verifier'),
        expectedState: derive(flowSecret, 'state'),
        expectedNonce: derive(flowSecret, 'nonce'),
        idTokenExpected: true,
      });
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError) {
        log?.info('provider refused the sign-in', { error: short(err.error) });
        throw new UnauthorizedError(`${settings.name} did not sign you in (${short(err.error)})`, { cause: err });
      }
      if (err instanceof oidc.ResponseBodyError) {
        // invalid_grant: a code that is not this browser's (wrong PKCE verifier), used or expired.
        log?.info('provider refused the code', { error: short(err.error) });
        throw new UnauthorizedError(`${settings.name} did not confirm the sign-in (${short(err.error)}); start again`, { cause: err });
      }
      if (err instanceof oidc.ClientError) {
        // A state, nonce, issuer or ID-token check failed: the answer is not for this browser's sign-in.
        log?.info('sign-in answer refused', { reason: short(err.message), code: short(err.code) });
        throw new UnauthorizedError('the sign-in answer does not belong to this browser’s sign-in; start again', { cause: err });
      }
      log?.warn('token request failed', { err: short((err as Error).message) });
      throw new UnavailableError(`${settings.name} cannot be reached right now; try again in a moment`, { cause: err });
    }
  }

  async function finish(params: URLSearchParams, flowSecret: string): Promise<ExternalIdentity> {
    if (!FLOW_SECRET_RE.test(flowSecret)) throw new UnauthorizedError('this sign-in was not started in this browser, or took too long; start again');
    const config = await configuration();
    const tokens = await redeem(config, params, flowSecret);
    const idToken = tokens.claims();
    if (!idToken) throw new UnauthorizedError(`${settings.name} sent no ID token; start again`);
    let claims: Record<string, unknown> = { ...idToken };
    // Many providers put the address only in userinfo (OIDC Core §5.4); its `sub` must be the ID token's.
    if ((claims.email === undefined || claims.email_verified === undefined) && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
        claims = { ...info, ...idToken };
      } catch (err) {
        log?.warn('userinfo request failed', { err: short((err as Error).message) });
        throw new UnavailableError(`${settings.name} did not say who you are; try again in a moment`, { cause: err });
      }
    }
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    if (!email) throw new ForbiddenError(`${settings.name} did not give an e-mail address (the hub asks for the scope "email")`, { field: 'email' });
    // Only `true`: an absent or false flag means the provider does not vouch that the address is the user's.
    if (claims.email_verified !== true) {
      log?.info('sign-in refused: unverified address', { issuer: idToken.iss });
      throw new ForbiddenError(`${settings.name} has not verified your address ${short(email)}; verify it there, then sign in again`, { field: 'email' });
    }
    const flat = flattenClaims(claims);
    return {
      provider: 'oidc',
      providerName: settings.name,
      issuer: idToken.iss,
      subject: idToken.sub,
      email,
      claims: flat,
      groups: flat.groups ?? [],
    };
  }

  return { name: settings.name, start, finish };
}
