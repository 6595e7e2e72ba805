/** @jsxImportSource hono/jsx */
// Portal routes of the single device host (PORTHOLE_DEVICE_HOST): /auth/device for that host shows
// the picker or a one-click confirmation instead of sending a ticket straight back, because every
// device shares that origin and a page of one device could otherwise switch the visitor to another
// by a mere navigation; POST /auth/device/select issues the single-host ticket. Which device this
// browser selected is remembered in a portal cookie, for display only (the device host decides).
import { NotFoundError } from '../errors.js';
import type { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { type DeviceHostSetting, formatDeviceHost, isValidSerial, matchesDeviceHost } from '../proxy/host-router.js';
import type { TicketStore } from '../proxy/ticket-store.js';
import type { DeviceInfo } from '../registry/index.js';
import { field, readForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';
import { safeNextPath } from './safe-redirect.js';
import { ConfirmSwitchPage, DevicePickerPage } from './single-host-pages.js';

export interface SingleHostPortalOptions {
  setting: DeviceHostSetting;
  /** The single host's origin as the hub publishes it (device links), e.g. `https://devices.example.io`. */
  origin: string;
  secure: boolean;
  tickets: TicketStore;
}

function pickedCookieName(secure: boolean): string {
  return secure ? '__Host-porthole_picked' : 'porthole_picked';
}

export function registerSingleHostRoutes(app: Hono<PortalEnv>, kit: PortalKit, o: SingleHostPortalOptions) {
  const { registry } = kit;
  const host = formatDeviceHost(o.setting);
  const scheme = o.origin.slice(0, o.origin.indexOf('://'));
  /** The host as the visitor wrote it when it is the single host (its port kept), else the configured one. */
  const visitorHost = (given: string | undefined) => (given && matchesDeviceHost(o.setting, given) ? given.toLowerCase() : host);
  const picked = (c: PortalContext) => {
    const v = getCookie(c, pickedCookieName(o.secure));
    return v && isValidSerial(v) ? v : undefined;
  };
  const common = (c: PortalContext, given?: string) => {
    const h = visitorHost(given);
    return { user: kit.userOf(c), csrf: c.get('csrf'), host: h, origin: `${scheme}://${h}` };
  };

  /** The device and whether the user may open it on the single host, with a session of their own or (public) without. */
  async function openable(userId: string, serial: string): Promise<{ device: DeviceInfo; withSession: boolean }> {
    const device = await registry.findDeviceBySerial(serial.slice(0, 63));
    const missing = new NotFoundError(`device ${serial.slice(0, 63).toLowerCase()} does not exist or is not shared with you`);
    if (!device) throw missing;
    const access = await registry.canAccessDevice(userId, device.id);
    if (access) return { device, withSession: true };
    if (device.accessPolicy === 'public') return { device, withSession: false };
    throw missing;
  }

  app.get('/auth/device/pick', kit.requireUser, async (c) => {
    const page = await registry.listDevices({ visibleTo: kit.userOf(c).id, limit: 200 });
    const devices = page.devices.map((d) => ({ serial: d.serial, online: d.online, accessPolicy: d.accessPolicy }));
    return c.html(<DevicePickerPage {...common(c, c.req.query('host'))} devices={devices} selected={picked(c)} />);
  });

  app.post('/auth/device/select', kit.requireUser, async (c) => {
    const u = kit.userOf(c);
    const body = await readForm(c);
    const { device, withSession } = await openable(u.id, field(body, 'serial', 63).toLowerCase());
    const next = safeNextPath(field(body, 'next', 2048));
    const ticket = await o.tickets.issueForSingleHost({ serial: device.serial, userId: withSession ? u.id : null, next });
    setCookie(c, pickedCookieName(o.secure), device.serial, { path: '/', httpOnly: true, secure: o.secure, sameSite: 'Lax', maxAge: 30 * 24 * 3600 });
    const target = new URL(`${scheme}://${visitorHost(field(body, 'host', 300))}/.porthole/auth`);
    target.searchParams.set('ticket', ticket);
    return c.redirect(target.toString(), 303);
  });

  return {
    /** Whether `/auth/device?host=` names the single host. */
    isSingleHost: (given: string | undefined) => given !== undefined && matchesDeviceHost(o.setting, given),
    /** `/auth/device` for the single host: the picker, or the confirmation for `serial`. */
    async authDevice(c: PortalContext): Promise<Response> {
      const serial = c.req.query('serial')?.toLowerCase();
      const hostQuery = c.req.query('host');
      if (!serial) return c.redirect(`/auth/device/pick?${new URLSearchParams({ host: visitorHost(hostQuery) }).toString()}`, 303);
      const { device } = await openable(kit.userOf(c).id, serial);
      const next = safeNextPath(c.req.query('next'));
      return c.html(<ConfirmSwitchPage {...common(c, hostQuery)} serial={device.serial} next={next} selected={picked(c)} />);
    },
  };
}
