/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The demo meter web app: what a real meter's UI looks like to Porthole (readings that change, a
// settings form, a WebSocket live chart, a large streamed CSV export, a streamed firmware upload),
// with the agent's "Remote access" page mounted under /remote-access the way a device embeds it.
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CsrfTokens, PasswordSessions, createRemoteAccessRoutes, crossSiteReason, type Agent } from '@porthole/agent';
import { csvExportStream } from './csv-export.js';
import { UploadError, hashUpload } from './firmware-upload.js';
import { LiveFeed } from './live-socket.js';
import { Dashboard, FAVICON_SVG, LoginPage, Shell } from './pages.js';
import { MeterSimulation, type MeterSettings } from './simulation.js';

export const METER_SESSION_COOKIE = 'meter_session';
export const METER_CSRF_COOKIE = 'meter_csrf';
const MIB = 1024 * 1024;

export interface MeterOptions {
  /** The embedded agent; without one the Remote access page says it is not configured. */
  agent?: Agent;
  /** The meter's own login password (default "meter-demo"). */
  password?: string;
  seed?: number;
  startMs?: number;
  settings?: Partial<MeterSettings>;
  now?: () => number;
}

export interface RunningMeter {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export interface Meter {
  app: Hono;
  simulation: MeterSimulation;
  live: LiveFeed;
  /** Serves the app and the WebSocket on host:port (port 0 = any). */
  listen(options?: { port?: number; host?: string }): Promise<RunningMeter>;
  close(): void;
}

function cookieFrom(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function createMeter(options: MeterOptions = {}): Meter {
  const now = options.now ?? Date.now;
  const sim = new MeterSimulation({ seed: options.seed, startMs: options.startMs, settings: options.settings });
  const live = new LiveFeed(sim, now);
  const sessions = new PasswordSessions(options.password ?? 'meter-demo', now);
  const csrf = new CsrfTokens();
  const app = new Hono();

  const loggedIn = (c: Context): boolean => sessions.valid(getCookie(c, METER_SESSION_COOKIE));
  const browserId = (c: Context): string => {
    let id = getCookie(c, METER_CSRF_COOKIE);
    if (!id || id.length > 64) {
      id = csrf.newBrowserId();
      setCookie(c, METER_CSRF_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'Lax' });
    }
    return id;
  };
  /** Cross-site and token checks for a state-changing request; a Response when refused. */
  const refuse = (c: Context, token: string | undefined): Response | undefined => {
    const why = crossSiteReason(c.req.raw.headers, new URL(c.req.url).origin);
    if (why || !csrf.verify(getCookie(c, METER_CSRF_COOKIE), token)) {
      return c.text(`Forbidden: ${why ?? 'missing or wrong form token; reload the page'}`, 403);
    }
    return undefined;
  };
  const dashboard = (c: Context, extra: { problems?: Record<string, string>; notice?: string } = {}, status: 200 | 400 = 200) => {
    const ok = loggedIn(c);
    return c.html(
      <Dashboard
        settings={sim.settings}
        reading={sim.reading(now())}
        history={Array.from({ length: 120 }, (_, i) => sim.reading(now() - (119 - i) * 1000).powerW)}
        loggedIn={ok} csrf={ok ? csrf.tokenFor(browserId(c)) : undefined} {...extra} />,
      status,
    );
  };

  app.get('/', (c) => dashboard(c, c.req.query('saved') === 'settings' ? { notice: 'Settings saved.' } : {}));
  const favicon = (c: Context) => c.body(FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' });
  app.get('/favicon.svg', favicon);
  app.get('/favicon.ico', favicon);

  app.get('/api/readings', (c) => c.json({ reading: sim.reading(now()), settings: sim.settings }));

  app.get('/login', (c) => c.html(<LoginPage csrf={csrf.tokenFor(browserId(c))} name={sim.settings.name} next={c.req.query('next')} />));
  app.post('/login', async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    const refused = refuse(c, form.csrf);
    if (refused) return refused;
    if (sessions.throttled()) return c.html(<LoginPage csrf={csrf.tokenFor(browserId(c))} name={sim.settings.name} error="Too many attempts; wait a minute." />, 429);
    const sid = sessions.login(typeof form.password === 'string' ? form.password : '');
    if (!sid) return c.html(<LoginPage csrf={csrf.tokenFor(browserId(c))} name={sim.settings.name} error="Wrong password." />, 401);
    setCookie(c, METER_SESSION_COOKIE, sid, { path: '/', httpOnly: true, sameSite: 'Lax' });
    const next = c.req.query('next');
    // Only local paths: no open redirect through the login form.
    return c.redirect(next && /^\/(?!\/)/.test(next) ? next : '/', 303);
  });
  app.post('/logout', async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    const refused = refuse(c, form.csrf);
    if (refused) return refused;
    sessions.logout(getCookie(c, METER_SESSION_COOKIE));
    deleteCookie(c, METER_SESSION_COOKIE, { path: '/' });
    return c.redirect('/', 303);
  });

  app.post('/settings', async (c) => {
    if (!loggedIn(c)) return c.redirect('/login', 303);
    const body = (await c.req.parseBody()) as Record<string, unknown>;
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') form[k] = v;
    const refused = refuse(c, form.csrf);
    if (refused) return refused;
    const parsed = sim.parseSettings(form);
    if ('problems' in parsed) return dashboard(c, { problems: parsed.problems }, 400);
    sim.settings = parsed.settings;
    live.settingsChanged();
    // Post/redirect/get with a confirmation on the page it lands on.
    return c.redirect('/?saved=settings', 303);
  });

  app.get('/export.csv', (c) => {
    const mb = Number(c.req.query('mb') ?? '10');
    if (!Number.isInteger(mb) || mb < 1 || mb > 4096) return c.text('mb must be a whole number of MiB, 1–4096', 400);
    return new Response(csvExportStream(sim, mb * MIB), {
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-length': String(mb * MIB),
        'content-disposition': `attachment; filename="meter-export-${mb}MiB.csv"`,
        'cache-control': 'no-store',
      },
    });
  });

  app.post('/firmware', async (c) => {
    if (!loggedIn(c)) return c.redirect('/login', 303);
    const refused = refuse(c, c.req.query('csrf'));
    if (refused) return refused;
    const body = c.req.raw.body;
    if (!body) return c.text('empty upload', 400);
    try {
      const r = await hashUpload(body as unknown as AsyncIterable<Uint8Array>, c.req.header('content-type') ?? '');
      if ((c.req.header('accept') ?? '').includes('application/json')) return c.json(r);
      return dashboard(c, { notice: `Firmware received: ${r.filename ?? 'upload'}, ${r.bytes} bytes, SHA-256 ${r.sha256}` });
    } catch (err) {
      if (err instanceof UploadError) return c.text(`Upload refused: ${err.message}`, 400);
      throw err;
    }
  });

  if (options.agent) {
    app.route(
      '/',
      createRemoteAccessRoutes(options.agent, {
        basePath: '/remote-access',
        // The meter's own login protects the page: the device-embedding mode of the agent.
        authorize: (request) => sessions.valid(cookieFrom(request, METER_SESSION_COOKIE)),
        loginUrl: '/login?next=/remote-access/',
        // The meter's own header and navigation around the page, so it looks like the rest of the UI.
        frame: ({ title, refreshSeconds, children }) => (
          <Shell title={`${sim.settings.name} · ${title.replace(/ · .*$/, '')}`} loggedIn={true} refreshSeconds={refreshSeconds}>
            {children}
          </Shell>
        ),
        now,
      }),
    );
  } else {
    app.get('/remote-access/*', (c) =>
      c.html(
        <Shell title={sim.settings.name} loggedIn={loggedIn(c)}>
          <main>
            <section>
              <h2>Remote access</h2>
              <p>The remote-access agent is not configured on this meter.</p>
            </section>
          </main>
        </Shell>,
      ),
    );
  }

  return {
    app,
    simulation: sim,
    live,
    listen({ port = 0, host = '127.0.0.1' } = {}) {
      const server = createAdaptorServer({ fetch: app.fetch }) as Server;
      server.on('upgrade', (req, socket, head) => live.handleUpgrade(req, socket, head));
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const p = (server.address() as AddressInfo).port;
          resolve({
            url: `http://${host.includes(':') ? `[${host}]` : host}:${p}`,
            port: p,
            server,
            close: () =>
              new Promise((r) => {
                live.close();
                server.closeAllConnections();
                server.close(() => r());
              }),
          });
        });
      });
    },
    close() {
      live.close();
    },
  };
}
