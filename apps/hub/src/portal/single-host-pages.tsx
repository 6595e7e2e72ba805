/** @jsxImportSource hono/jsx */
// The portal's side of the single device host: the device picker (which device this browser has
// selected there, and one button per device to switch) and the confirmation a link to another
// device leads to. Every switch is a form on the portal, which no page on the shared device host
// can read or submit.
import type { FC } from 'hono/jsx';
import { ErrorNote, Layout, type PageUser } from './layout.js';

export interface PickableDevice {
  serial: string;
  online: boolean;
  accessPolicy: 'owners' | 'public';
}

interface Common {
  user: PageUser;
  csrf: string;
  /** The single device host as visitors write it (`devices.example.io`). */
  host: string;
  /** Its origin (`https://devices.example.io`). */
  origin: string;
}

const OpenForm: FC<Common & { serial: string; next: string; label: string; primary?: boolean }> = (p) => (
  <form method="post" action="/auth/device/select" class="inline">
    <input type="hidden" name="_csrf" value={p.csrf} />
    <input type="hidden" name="serial" value={p.serial} />
    <input type="hidden" name="host" value={p.host} />
    <input type="hidden" name="next" value={p.next} />
    <button type="submit" class={p.primary ? undefined : 'secondary'} data-open={p.serial}>
      {p.label}
    </button>
  </form>
);

export const DevicePickerPage: FC<Common & { devices: PickableDevice[]; selected: string | undefined; error?: string | undefined }> = (p) => (
  <Layout title={`Devices on ${p.host}`} user={p.user} csrf={p.csrf}>
    <ErrorNote message={p.error} />
    <p>
      <code>{p.host}</code> shows one device at a time in this browser. Choose the device to open there; switching ends
      the previous device's session on that address.
    </p>
    {p.devices.length === 0 ? (
      <p>No devices are shared with you yet.</p>
    ) : (
      <table>
        <thead>
          <tr>
            <th>Device</th>
            <th>Status</th>
            <th>On {p.host}</th>
          </tr>
        </thead>
        <tbody>
          {p.devices.map((d) => (
            <tr data-serial={d.serial} class={d.serial === p.selected ? 'selected' : undefined}>
              <td>
                <a href={`/devices/${d.serial}`}>
                  <code>{d.serial}</code>
                </a>
              </td>
              <td>{d.online ? 'online' : 'offline'}</td>
              <td>
                {d.serial === p.selected ? (
                  <span>
                    <strong data-selected={d.serial}>Selected</strong> · <a href={`${p.origin}/`}>go to it</a>
                  </span>
                ) : (
                  <OpenForm {...p} serial={d.serial} next="/" label={`Open ${d.serial}`} primary />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </Layout>
);

export const ConfirmSwitchPage: FC<Common & { serial: string; next: string; selected: string | undefined }> = (p) => (
  <Layout title={`Open ${p.serial}?`} user={p.user} csrf={p.csrf} narrow>
    <p>
      Open device <code>{p.serial}</code> on <code>{p.host}</code>
      {p.selected && p.selected !== p.serial ? (
        <>
          {' '}
          instead of <code>{p.selected}</code>
        </>
      ) : null}
      ?
    </p>
    <p class="note">
      Every device shares the address <code>{p.host}</code>. Pages of another device still open in this browser could use
      this device once it is selected: close them first if you do not trust that device.
    </p>
    <OpenForm {...p} label={`Open ${p.serial}`} primary />
    <p>
      <a href={`/auth/device/pick?host=${encodeURIComponent(p.host)}`}>Choose another device</a>
    </p>
  </Layout>
);
