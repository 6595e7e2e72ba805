// The one browser without JavaScript that tests of server-rendered pages use: host-only cookie jars
// per host name, form posts with the Origin and Sec-Fetch-Site a browser sends (and a form's hidden
// fields, CSRF token among them), redirects followed only on request. It talks to a server over
// loopback (every request to 127.0.0.1 with the URL's Host, so `<serial>.localhost` needs no DNS) or
// to an app in-process (hono's app.request) through a transport.
import http from 'node:http';

export interface Exchange {
  status: number;
  headers: Headers;
  text: string;
}

/** Carries one request; the browser adds cookies and form headers before. */
export type Transport = (url: URL, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<Exchange>;

/** Form fields; a field given as a list is sent once per value. */
export type FormBody = Record<string, string | string[]>;

export interface Page {
  url: string;
  status: number;
  /** The Location header made absolute against the page's URL. */
  location: string | undefined;
  headers: Headers;
  html: string;
  /** The first CSRF token (`_csrf` field) on the page. */
  csrf: string | undefined;
}

export interface RequestInit {
  method?: string;
  form?: FormBody;
  /** The origin of the page the form is on (default the target's own). */
  origin?: string;
  /** Extra headers; an `origin` or `sec-fetch-site` here wins over the browser's own. */
  headers?: Record<string, string>;
}

/** Requests to 127.0.0.1 on the URL's port with the URL's Host header. */
export const loopbackTransport: Transport = (url, init) =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: Number(url.port || 80), path: `${url.pathname}${url.search}`, method: init.method, headers: { host: url.host, accept: 'text/html', ...init.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
          resolve({ status: res.statusCode!, headers, text: Buffer.concat(chunks).toString() });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end(init.body);
  });

interface InProcessApp {
  request(url: string, init: { method: string; headers: Record<string, string>; body?: string }, env: unknown): Response | Promise<Response>;
}

/** Requests into a hono app in this process, from `remoteAddress` as the client's address. */
export function appTransport(app: InProcessApp, remoteAddress = '198.51.100.20'): Transport {
  return async (url, init) => {
    const res = await app.request(url.toString(), { method: init.method, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}) }, { incoming: { socket: { remoteAddress } } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
}

export class TestBrowser {
  /** host name → cookie name → value (host-only: nobody in these tests sets Domain). */
  readonly jars = new Map<string, Map<string, string>>();
  /** The Set-Cookie lines of the last answer. */
  lastSetCookies: string[] = [];

  constructor(private readonly transport: Transport = loopbackTransport) {}

  cookies(host: string): Map<string, string> {
    let jar = this.jars.get(host);
    if (!jar) this.jars.set(host, (jar = new Map()));
    return jar;
  }

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const u = new URL(url);
    const headers: Record<string, string> = { ...init.headers };
    const jar = this.cookies(u.hostname);
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // A form on a page of the same origin, as a browser reports it.
      headers.origin ??= init.origin ?? u.origin;
      headers['sec-fetch-site'] ??= headers.origin === u.origin ? 'same-origin' : 'cross-site';
    }
    const res = await this.transport(u, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, ...(body !== undefined ? { body } : {}) });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const line of this.lastSetCookies) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || /expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      location: location === null ? undefined : new URL(location, u).toString(),
      headers: res.headers,
      html: res.text,
      csrf: /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1],
    };
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  /**
   * Submits the form of `page` whose action is `action` the way the browser would: its hidden fields
   * (CSRF token, `next`, `code`) plus what the person typed or clicked, from the page's origin.
   */
  post(page: Page, action: string, fields: Record<string, string> = {}): Promise<Page> {
    const target = new URL(action, page.url).toString();
    return this.request(target, { form: { ...hiddenFields(page.html, action), ...fields }, origin: new URL(page.url).origin });
  }

  /** GET `url` and follow redirects (as a browser does after a 303), returning every hop. */
  async follow(url: string, maxHops = 10): Promise<Page[]> {
    const hops: Page[] = [];
    let next: string | undefined = url;
    while (next && hops.length < maxHops) {
      const page = await this.get(next);
      hops.push(page);
      next = page.status >= 300 && page.status < 400 ? page.location : undefined;
    }
    return hops;
  }
}

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&');
}

/** The hidden inputs of the first form posting to `action`; throws when the page has no such form. */
export function hiddenFields(html: string, action: string): Record<string, string> {
  const forms = html.match(/<form\b[^>]*>[\s\S]*?<\/form>/g) ?? [];
  const form = forms.find((f) => decodeEntities(/\baction="([^"]*)"/.exec(f)?.[1] ?? '') === action);
  if (!form) throw new Error(`the page has no form posting to ${action}`);
  const out: Record<string, string> = {};
  for (const input of form.match(/<input\b[^>]*>/g) ?? []) {
    if (!/\btype="hidden"/.test(input)) continue;
    const name = /\bname="([^"]*)"/.exec(input)?.[1];
    if (name) out[decodeEntities(name)] = decodeEntities(/\bvalue="([^"]*)"/.exec(input)?.[1] ?? '');
  }
  return out;
}

/** The text a person reads: tags dropped, entities decoded, whitespace collapsed. */
export function visibleText(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}
