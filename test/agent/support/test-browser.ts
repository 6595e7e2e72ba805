// What a browser without JavaScript does, enough for the claim flow across two sites (the device's
// local page and the hub portal): host-only cookie jars per host name, form posts with the page's
// CSRF token and the Origin / Sec-Fetch-Site a browser sends, redirects followed only on request.
// Every request goes to 127.0.0.1 with the URL's Host (so `<serial>.localhost` needs no DNS).
import http from 'node:http';

export interface Page {
  url: string;
  status: number;
  location: string | undefined;
  headers: http.IncomingHttpHeaders;
  html: string;
}

export class TestBrowser {
  /** host name → cookie name → value (host-only: nobody in these tests sets Domain). */
  readonly jars = new Map<string, Map<string, string>>();

  cookies(host: string): Map<string, string> {
    let jar = this.jars.get(host);
    if (!jar) this.jars.set(host, (jar = new Map()));
    return jar;
  }

  request(url: string, init: { method?: string; form?: Record<string, string>; origin?: string } = {}): Promise<Page> {
    const u = new URL(url);
    const headers: Record<string, string> = { host: u.host, accept: 'text/html' };
    const jar = this.cookies(u.hostname);
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // A form on a page of the same origin, as a browser reports it.
      headers.origin = init.origin ?? u.origin;
      headers['sec-fetch-site'] = headers.origin === u.origin ? 'same-origin' : 'cross-site';
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: Number(u.port || 80), path: `${u.pathname}${u.search}`, method: init.method ?? (body ? 'POST' : 'GET'), headers, agent: false },
        (res) => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [pair] = line.split(';');
            const eq = pair!.indexOf('=');
            const name = pair!.slice(0, eq).trim();
            const value = pair!.slice(eq + 1).trim();
            if (/max-age=0/i.test(line) || /expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
            else jar.set(name, value);
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const location = res.headers.location ? new URL(res.headers.location, u).toString() : undefined;
            resolve({ url, status: res.statusCode!, location, headers: res.headers, html: Buffer.concat(chunks).toString() });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url}`)));
      req.on('error', reject);
      req.end(body);
    });
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
