/** @jsxImportSource hono/jsx */
// Admin routes (role admin; everything under /admin): the overview, all devices with search and
// bulk enable/disable, and the token, peer and access-log pages from their own files.
import type { Hono } from 'hono';
import { ValidationError } from '../errors.js';
import { DEVICE_SORTS, type DeviceSort } from '../registry/device-admin.js';
import type { SearchDevicesQuery } from '../registry/index.js';
import { registerAccessLogRoutes } from './access-log-routes.js';
import { AdminDevicesPage, filterQuery, OverviewPage, type DeviceFilters } from './admin-pages.js';
import { registerPeerRoutes } from './peer-routes.js';
import { registerReservationRoutes } from './reservation-routes.js';
import { doneMessage, field, fieldAll, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';
import { safeNextPath } from './safe-redirect.js';
import { registerTokenRoutes } from './token-routes.js';

const PAGE_SIZE = 50;

export function readDeviceFilters(c: PortalContext): DeviceFilters {
  const q = (c.req.query('q') ?? '').trim().toLowerCase().slice(0, 63);
  const status = c.req.query('status');
  const online = c.req.query('online');
  const sort = c.req.query('sort') as DeviceSort | undefined;
  return {
    q,
    status: status === 'enabled' || status === 'disabled' ? status : '',
    online: online === 'yes' || online === 'no' ? online : '',
    tag: (c.req.query('tag') ?? '').trim().toLowerCase().slice(0, 64),
    sort: sort && DEVICE_SORTS.includes(sort) ? sort : 'serial',
  };
}

export function registerAdminRoutes(app: Hono<PortalEnv>, kit: PortalKit, options: { portalOrigin: string }): void {
  const { registry } = kit;
  app.use('/admin', kit.requireAdmin);
  app.use('/admin/*', kit.requireAdmin);

  app.get('/admin', async (c) => {
    const u = kit.userOf(c);
    return c.html(<OverviewPage user={u} csrf={c.get('csrf')} now={registry.context.now()} overview={await registry.fleetOverview(15)} />);
  });

  const devicesPage = async (c: PortalContext, error?: string) => {
    const u = kit.userOf(c);
    const filters = readDeviceFilters(c);
    const cursor = c.req.query('cursor')?.slice(0, 400);
    const query: SearchDevicesQuery = { sort: filters.sort, limit: PAGE_SIZE };
    if (filters.q) query.q = filters.q;
    if (filters.status) query.status = filters.status;
    if (filters.online) query.online = filters.online === 'yes';
    if (filters.tag) query.tag = filters.tag;
    if (cursor) query.cursor = cursor;
    const page = await registry.searchDevices(query);
    const back = `/admin/devices${filterQuery(filters, cursor ? { cursor } : {})}`;
    return (
      <AdminDevicesPage
        user={u}
        csrf={c.get('csrf')}
        now={registry.context.now()}
        filters={filters}
        devices={page.devices}
        nextCursor={page.nextCursor}
        first={!cursor}
        back={back}
        notice={doneMessage(c)}
        error={error}
      />
    );
  };
  app.get('/admin/devices', async (c) => c.html(await devicesPage(c)));

  app.post('/admin/devices/bulk', async (c) => {
    const body = await readForm(c);
    const action = field(body, 'action', 10);
    const serials = fieldAll(body, 'serial', 600, 80);
    // Back to the same filtered list, never anywhere else.
    const back = safeNextPath(field(body, 'back', 1000), '/admin/devices');
    const target = back === '/admin/devices' || back.startsWith('/admin/devices?') ? back : '/admin/devices';
    return runForm(
      c,
      async () => {
        if (action !== 'disable' && action !== 'enable') throw new ValidationError('choose Disable selected or Enable selected', { field: 'action' });
        if (serials.length === 0) throw new ValidationError('select at least one device first', { field: 'serial' });
        const changed = await registry.setDevicesStatus(serials, action === 'disable' ? 'disabled' : 'enabled');
        const url = new URL(target, options.portalOrigin);
        url.searchParams.set('done', `bulk-${action}d`);
        url.searchParams.set('n', String(changed.length));
        return c.redirect(url.pathname + url.search, 303);
      },
      (err) => devicesPage(c, err.message),
    );
  });

  registerTokenRoutes(app, kit);
  registerPeerRoutes(app, kit);
  registerReservationRoutes(app, kit);
  registerAccessLogRoutes(app, kit);
}
