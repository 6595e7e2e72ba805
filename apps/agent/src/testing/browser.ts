// The agent's page tests drive it with the test kit's browser without JavaScript
// (test/support/browser.ts); this keeps the shape they use: a post to a URL with the fields given,
// the answer's raw Location, and the cookies of every host in one map.
import { TestBrowser as KitBrowser } from '../../../../test/support/browser.js';

export interface BrowserResponse {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
}

export class TestBrowser {
  private readonly kit = new KitBrowser();

  /** Every cookie the browser holds, by name. */
  get cookies(): Map<string, string> {
    return new Map([...this.kit.jars.values()].flatMap((jar) => [...jar]));
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<BrowserResponse> {
    const page = await this.kit.request(url, init);
    return { status: page.status, location: page.headers.get('location'), text: page.html, headers: page.headers };
  }

  get(url: string): Promise<BrowserResponse> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>, headers?: Record<string, string>): Promise<BrowserResponse> {
    return this.request(url, { form, ...(headers ? { headers } : {}) });
  }
}

export function csrfFrom(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no csrf field in page');
  return m[1]!;
}
