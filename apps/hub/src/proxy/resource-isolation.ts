// Resource isolation for device hosts (W3C Fetch Metadata, RFC 6454 Origin, RFC 6455 §10.2): every
// device host shares one registrable domain, so a browser attaches the visitor's device cookie for A
// to requests a page on sibling B makes to A; SameSite does not stop it. The hub honours that cookie
// only for requests from A's own origin and for top-level navigations.
import type { IncomingHttpHeaders } from 'node:http';

/** Why the hub may honour a device cookie on this request. */
export type IsolationBasis =
  /** The browser says the request comes from the device's own pages (or Origin equals it). */
  | 'same-origin'
  /** Typed address, bookmark: no page started it (`Sec-Fetch-Site: none`). */
  | 'user-navigation'
  /** A link or redirect from elsewhere that replaces the whole tab (GET/HEAD only). */
  | 'top-level-navigation'
  /** No Fetch Metadata and no Origin (an old browser, a script): a GET or HEAD, which changes nothing. */
  | 'no-metadata-safe-method';

export type IsolationRefusal =
  /** A script, image, style or fetch from another origin. */
  | 'cross-origin'
  /** A page of another origin framing the device (iframe, frame, embed, object). */
  | 'embedded'
  /** A form POST (or any non-GET navigation) from another origin. */
  | 'cross-origin-write'
  /** No Fetch Metadata and no Origin on a method that can change state. */
  | 'no-origin-write'
  /** A WebSocket without `Origin` equal to the device's own origin. */
  | 'websocket-origin'
  /** Values no browser sends (duplicates, unknown tokens, contradictions). */
  | 'malformed';

export type IsolationVerdict =
  | { allowed: true; basis: IsolationBasis }
  | {
      allowed: false;
      reason: IsolationRefusal;
      /**
       * The browser told us the request comes from another origin (Fetch Metadata or Origin). A public
       * device then gets the request anonymously, with no cookies and no Authorization at all, so the
       * visitor's own device-login cookies cannot be ridden either.
       */
      crossOrigin: boolean;
      /** The initiating origin when the request named one (shown on the refusal page). */
      from?: string;
    };

export interface IsolationRequest {
  method: string;
  headers: IncomingHttpHeaders;
  /** The device's own origin as the visitor addressed it, from `deviceOrigin()`. */
  deviceOrigin: string;
  /** A WebSocket handshake (device WebSocket endpoints and /.porthole/tcp). */
  websocket: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
const SITES = new Set(['same-origin', 'same-site', 'cross-site', 'none']);

/**
 * `scheme://host[:port]` exactly as a browser serialises the origin of a URL with this scheme and
 * Host (lowercase host, default port omitted, RFC 6454 §6.1). Undefined when it does not parse.
 */
export function deviceOrigin(proto: 'http' | 'https', hostWithPort: string): string | undefined {
  const key = `${proto}://${hostWithPort}`;
  // Every request on a device host asks, and parsing a URL each time was ~1% of the proxy's CPU.
  if (origins.has(key)) return origins.get(key);
  let origin: string | undefined;
  try {
    origin = new URL(key).origin;
    if (origin === 'null') origin = undefined;
  } catch {
    origin = undefined;
  }
  // Bounded: host names come from visitors (only valid device hosts get here, but many of them).
  if (origins.size >= MAX_CACHED_ORIGINS) origins.clear();
  origins.set(key, origin);
  return origin;
}

const MAX_CACHED_ORIGINS = 10_000;
const origins = new Map<string, string | undefined>();

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function refusal(reason: IsolationRefusal, crossOrigin: boolean, from: string | undefined): IsolationVerdict {
  return { allowed: false, reason, crossOrigin, ...(from ? { from } : {}) };
}

/** May a device cookie authenticate this request? Never throws; unknown input is refused. */
export function isolationVerdict(r: IsolationRequest): IsolationVerdict {
  const site = single(r.headers['sec-fetch-site'])?.trim().toLowerCase();
  const mode = single(r.headers['sec-fetch-mode'])?.trim().toLowerCase();
  const dest = single(r.headers['sec-fetch-dest'])?.trim().toLowerCase();
  const origin = single(r.headers.origin)?.trim();
  const method = r.method.toUpperCase();
  // A browser sends Origin "null" for opaque origins (sandboxed frames, data: URLs): never the device.
  const originMatches = origin !== undefined && origin === r.deviceOrigin;
  const from = origin !== undefined && origin !== 'null' && !originMatches ? origin.slice(0, 200) : undefined;

  if (r.websocket) {
    // Browsers always send Origin on a WebSocket handshake, and a page may open one to any host.
    if (origin === undefined) return refusal('websocket-origin', false, from);
    if (!originMatches) return refusal('websocket-origin', true, from);
    if (site !== undefined && site !== 'same-origin') return refusal('malformed', true, from);
    return { allowed: true, basis: 'same-origin' };
  }

  if (site === undefined) {
    // No Fetch Metadata: a browser without it (or plain HTTP, where browsers omit it), or a script.
    if (origin !== undefined) return originMatches ? { allowed: true, basis: 'same-origin' } : refusal('cross-origin', true, from);
    // Browsers send Origin on every non-GET/HEAD request; one without it cannot prove where it came from.
    return SAFE_METHODS.has(method) ? { allowed: true, basis: 'no-metadata-safe-method' } : refusal('no-origin-write', false, from);
  }
  if (!SITES.has(site)) return refusal('malformed', true, from);
  if (site === 'same-origin') {
    // Origin, when present, must agree: a browser never sends a foreign Origin with same-origin.
    return origin === undefined || originMatches ? { allowed: true, basis: 'same-origin' } : refusal('malformed', true, from);
  }
  if (site === 'none') {
    // Only the user starts these (address bar, bookmark); there is no initiating page to distrust.
    if (mode !== 'navigate' || (origin !== undefined && !originMatches)) return refusal('malformed', false, from);
    return { allowed: true, basis: 'user-navigation' };
  }
  // same-site (a sibling device host, the portal) or cross-site.
  if (mode === 'navigate') {
    // Browsers that send Sec-Fetch-Site send Sec-Fetch-Dest too.
    if (dest === undefined) return refusal('malformed', true, from);
    if (dest !== 'document') return refusal('embedded', true, from);
    return SAFE_METHODS.has(method) ? { allowed: true, basis: 'top-level-navigation' } : refusal('cross-origin-write', true, from);
  }
  return refusal('cross-origin', true, from);
}

/**
 * May `/.porthole/auth?ticket=` be redeemed by this request? Only as a top-level navigation when the
 * browser says what it is: an image or fetch on another site must not sign the visitor in to a
 * device as someone else (login CSRF). Requests without Fetch Metadata are let through.
 */
export function isTopLevelNavigation(headers: IncomingHttpHeaders): boolean {
  const mode = single(headers['sec-fetch-mode'])?.trim().toLowerCase();
  const dest = single(headers['sec-fetch-dest'])?.trim().toLowerCase();
  return (mode === undefined || mode === 'navigate') && (dest === undefined || dest === 'document');
}

/** Title and text of the page a refused request gets (the visitor sees it on top-level navigations). */
export function refusalText(reason: IsolationRefusal, serial: string, from: string | undefined): { title: string; message: string } {
  const by = from ? `a page on ${from}` : 'a page on another site';
  const why = `Porthole uses your sign-in for device ${serial} only on requests from the device's own pages, or when you open the device's address yourself.`;
  switch (reason) {
    case 'cross-origin-write':
      return { title: 'Form from another site refused', message: `${by} tried to send a form to device ${serial} with your sign-in. ${why} Nothing was sent to the device.` };
    case 'embedded':
      return { title: 'Device page framed by another site', message: `${by} tried to show device ${serial} inside itself. ${why} Open the device's address in its own tab.` };
    case 'websocket-origin':
      return { title: 'Connection from another site refused', message: `${by} tried to open a connection to device ${serial} with your sign-in. ${why}` };
    case 'no-origin-write':
      return { title: 'Request without origin refused', message: `This request to device ${serial} could change something but did not say which page sent it (no Origin header). ${why} Scripts use an API token instead.` };
    case 'malformed':
      return { title: 'Request refused', message: `This request to device ${serial} carried contradictory origin information. ${why}` };
    case 'cross-origin':
      return { title: 'Request from another site refused', message: `${by} tried to use device ${serial} with your sign-in. ${why} Nothing was sent to the device.` };
  }
}
