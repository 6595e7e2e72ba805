/** @jsxImportSource hono/jsx */
// Owner routes: /devices (mine and shared with me) and /devices/:serial with its forms (enable /
// disable, access policy, tags, grant and revoke access). Post/redirect/get; on a refused form
// the page is shown again with the message. A device the user may not see is "not found", exactly
// like a missing one (serials are guessable, access is not).
import type { Hono } from 'hono';
import { NotFoundError, ValidationError } from '../errors.js';
import { actorFor, canSee, may } from '../auth/authorization.js';
import type { SessionUser } from '../auth/sessions.js';
import type { DeviceInfo } from '../registry/index.js';
import { LINK_HOURS } from './device-links-section.js';
import { DevicePage, MyDevicesPage, type DeviceView } from './device-pages.js';
import { durationFrom, GRANT_DURATIONS, splitTags } from './format.js';
import { doneMessage, field, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';

const LOG_PAGE = 25;

export function registerDeviceRoutes(app: Hono<PortalEnv>, kit: PortalKit): void {
  const { registry } = kit;

  /** The device and whether `u` may manage it; NotFoundError when `u` may not even see it. */
  async function deviceFor(u: SessionUser, serial: string): Promise<{ device: DeviceInfo; manage: boolean; readsLog?: boolean }> {
    const device = await registry.findDeviceBySerial(serial.slice(0, 63));
    const missing = () => new NotFoundError(`device ${serial.slice(0, 63).toLowerCase()} does not exist or is not shared with you`);
    if (!device) throw missing();
    if (u.role === 'admin' || device.owner?.id === u.id) return { device, manage: true };
    // Members of the device's organisation: every role sees it, those who may change devices manage it.
    const actor = actorFor(u, await registry.membershipsOf(u.id));
    if (canSee(actor, device.organizationId)) return { device, manage: may(actor, 'devices', device.organizationId), readsLog: true };
    const now = registry.context.now().getTime();
    const granted = (await registry.listGrants(device.serial)).some((g) => g.userId === u.id && (g.expiresAt === null || Date.parse(g.expiresAt) > now));
    if (!granted) throw missing();
    return { device, manage: false };
  }

  /** The device page (its forms, grants, installer links, access log) for the signed-in user. */
  async function devicePage(c: PortalContext, serial: string, extra: Partial<DeviceView> = {}) {
    const u = kit.userOf(c);
    const { device, manage, readsLog } = await deviceFor(u, serial);
    // Every role of the device's organisation reads its log (viewers: lists and logs).
    const log = manage || readsLog
      ? await registry.searchAccessLog({ serial: device.serial, limit: LOG_PAGE, ...(c.req.query('log') ? { cursor: c.req.query('log')!.slice(0, 200) } : {}) })
      : { entries: [], nextCursor: null };
    const view: DeviceView = {
      user: u,
      csrf: c.get('csrf'),
      now: registry.context.now(),
      device,
      manage,
      grants: manage ? await registry.listGrants(device.serial) : [],
      links: manage ? await registry.listDeviceLinks(device.serial) : [],
      log: log.entries,
      logNext: log.nextCursor,
      notice: doneMessage(c),
      organizationName: (await registry.findOrganization(device.organizationId))?.name,
      ...extra,
    };
    return <DevicePage {...view} />;
  }

  const myDevices = async (c: PortalContext) => {
    const u = kit.userOf(c);
    const cursor = c.req.query('cursor')?.slice(0, 200);
    // The organisation switcher: one of the user's organisations, or all (an unknown choice shows all).
    const mine = await registry.listOrganizations([...(await registry.membershipsOf(u.id)).keys()]);
    const org = mine.find((o) => o.id === c.req.query('org'));
    const page = await registry.listDevices({ visibleTo: u.id, limit: 50, ...(cursor ? { cursor } : {}), ...(org ? { organizationIds: [org.id] } : {}) });
    return c.html(
      <MyDevicesPage user={u} csrf={c.get('csrf')} now={registry.context.now()} devices={page.devices} nextCursor={page.nextCursor} first={!cursor} notice={doneMessage(c)} organizations={mine} organizationId={org?.id} />,
    );
  };
  app.get('/devices', kit.requireUser, myDevices);
  // The home page of a signed-in user is the device list, of an administrator the fleet overview
  // (an admin's own list is usually empty); signed-out visitors get the welcome page.
  app.get('/', async (c, next) => {
    const u = c.get('user');
    if (!u) return next();
    return u.role === 'admin' ? c.redirect('/admin', 303) : myDevices(c);
  });

  app.get('/devices/:serial', kit.requireUser, async (c) => c.html(await devicePage(c, c.req.param('serial'))));

  /**
   * A management form: checks the user may manage the device, runs `action`, redirects back with the
   * fixed message its key names (or shows the page with what `action` returns, for what is shown
   * once); a domain error re-renders the device page with the error and its status.
   */
  const manageForm = (path: string, action: (c: PortalContext, device: DeviceInfo, body: Record<string, unknown>, u: SessionUser) => Promise<string | Partial<DeviceView>>) =>
    app.post(`/devices/:serial/${path}`, kit.requireUser, async (c) => {
      const u = kit.userOf(c);
      const { device, manage } = await deviceFor(u, c.req.param('serial'));
      if (!manage) throw new NotFoundError(`device ${device.serial} does not exist or is not shared with you`);
      const body = await readForm(c);
      return runForm(
        c,
        async () => {
          const done = await action(c, device, body, u);
          if (typeof done !== 'string') return c.html(await devicePage(c, device.serial, done));
          return c.redirect(`/devices/${device.serial}?done=${done}`, 303);
        },
        (err) => devicePage(c, device.serial, { error: err.message, ...(path === 'grants' ? { grantEmail: field(body, 'email', 254) } : {}) }),
      );
    });

  manageForm('status', async (_c, device, body) => {
    const status = field(body, 'status', 10);
    if (status !== 'enabled' && status !== 'disabled') throw new ValidationError('choose Enable or Disable', { field: 'status' });
    await registry.setDeviceStatus(device.serial, status);
    return status;
  });

  manageForm('policy', async (_c, device, body) => {
    const policy = field(body, 'policy', 10);
    if (policy !== 'owners' && policy !== 'public') throw new ValidationError('choose who may open the device', { field: 'policy' });
    await registry.setAccessPolicy(device.serial, policy);
    return 'policy';
  });

  manageForm('tags', async (_c, device, body) => {
    await registry.setDeviceTags(device.serial, splitTags(field(body, 'tags', 2000)));
    return 'tags';
  });

  manageForm('grants', async (_c, device, body, u) => {
    const duration = durationFrom(GRANT_DURATIONS, field(body, 'duration', 10), 'duration');
    const expiresAt = duration.seconds === null ? null : new Date(registry.context.now().getTime() + duration.seconds * 1000);
    await registry.grantAccess(device.serial, { email: field(body, 'email', 254), expiresAt, grantedBy: u.id, readOnly: field(body, 'readOnly', 4) === '1' });
    return 'granted';
  });

  // An installer link's URL is shown once: the page is rendered here, not after a redirect.
  manageForm('links', async (_c, device, body, u) => {
    const hours = Number(field(body, 'hours', 4));
    if (!(LINK_HOURS as readonly number[]).includes(hours)) throw new ValidationError('choose how long the link is valid', { field: 'hours' });
    const made = await registry.createDeviceLink(device.serial, { hours, readOnly: field(body, 'readOnly', 4) === '1', createdBy: u.id });
    return { newLink: { url: made.url, expiresAt: made.expiresAt }, notice: 'Installer link made.' };
  });

  manageForm('links/revoke', async (_c, device, body) => {
    await registry.revokeDeviceLink(device.serial, field(body, 'id', 64));
    return 'link-revoked';
  });

  manageForm('grants/revoke', async (_c, device, body) => {
    await registry.revokeGrant(device.serial, field(body, 'userId', 64));
    return 'revoked';
  });
}
