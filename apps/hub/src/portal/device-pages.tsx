/** @jsxImportSource hono/jsx */
// The owner's pages: "My devices" (owned and shared with me) and one device's page (status,
// traffic, access policy, tags, who else may reach it, its access log). Management forms appear
// only for the owner and admins; someone with a grant sees status and the link.
import type { Child, FC } from 'hono/jsx';
import type { AccessLogRow } from '../registry/access-log-search.js';
import type { DeviceInfo, DeviceLinkInfo, GrantInfo } from '../registry/index.js';
import { ExposureWindow, InstallerLinksSection, ReadOnlyChoice } from './device-links-section.js';
import { formatBytes, GRANT_DURATIONS } from './format.js';
import { Csrf, InputField, Layout, ListTable, Notice, Page, RevokeButton, SelectField, StateDot, Table, Tags, When, type PageUser } from './layout.js';

export interface ViewBase {
  user: PageUser & { id: string };
  csrf: string;
  now: Date;
  notice?: string | undefined;
  error?: string | undefined;
}

const POLICY_TEXT = { owners: 'Owner and people given access', public: 'Public (the device’s own login protects it)' } as const;

/** With a single device host, device addresses are `…/.porthole/select?serial=`: point to its picker. */
const SingleHostNote: FC<{ devices: DeviceInfo[] }> = ({ devices }) => {
  const url = devices.map((d) => new URL(d.url)).find((u) => u.pathname === '/.porthole/select');
  if (!url) return null;
  return (
    <p>
      Devices open one at a time on <code>{url.host}</code>:{' '}
      <a href={`/auth/device/pick?host=${encodeURIComponent(url.host)}`}>see which one is selected and switch</a>.
    </p>
  );
};

/** The first cells of a device's row in a list: its serial linking to its page, its state, when it was last seen. */
export const DeviceCells: FC<{ device: DeviceInfo; now: Date; label: string; children?: Child }> = ({ device: d, now, label, children }) => (
  <>
    <td data-label={label}>
      <a href={`/devices/${d.serial}`}>
        <code>{d.serial}</code>
      </a>
      {children}
    </td>
    <td data-label="State">
      <StateDot online={d.online} status={d.status} />
    </td>
    <td data-label="Last seen">
      <When iso={d.lastHandshakeAt} now={now} />
    </td>
  </>
);

export const MyDevicesPage: FC<ViewBase & { devices: DeviceInfo[]; nextCursor: string | null; first: boolean; organizations?: readonly { id: string; name: string }[]; organizationId?: string | undefined }> = (p) => (
  <Layout title="My devices" user={p.user} csrf={p.csrf} current="/devices">
    <Notice message={p.notice} />
    {p.organizations && p.organizations.length > 0 ? (
      <form method="get" action="/devices" class="row" aria-label="Organisation">
        <SelectField id="org" label="Organisation" options={[{ value: '', label: 'All my devices' }, ...p.organizations.map((o) => ({ value: o.id, label: o.name }))]} selected={p.organizationId ?? ''} />
        <button type="submit" class="secondary">Show</button>
      </form>
    ) : null}
    {p.devices.length === 0 && p.first ? (
      <p>
        No devices yet. On the device’s own web page, click “Enable remote access” and follow its link, or{' '}
        <a href="/claim">enter the code it shows</a>.
      </p>
    ) : (
      <Table stack caption="Devices you own or were given access to" columns={['Device', 'State', 'Last seen', 'Address', 'Access', 'Tags']}>
        {p.devices.map((d) => (
          <tr>
            <DeviceCells device={d} now={p.now} label="Device">
              {d.owner?.id !== p.user.id ? <div class="note">shared with you</div> : null}
            </DeviceCells>
            <td data-label="Address">
              <a href={d.url}>{d.url.replace(/^https?:\/\//, '').replace(/\/$/, '')}</a>
            </td>
            <td data-label="Access">{d.accessPolicy === 'public' ? 'public' : 'owners'}</td>
            <td data-label="Tags">
              <Tags tags={d.tags} />
            </td>
          </tr>
        ))}
      </Table>
    )}
    <SingleHostNote devices={p.devices} />
    <nav class="pager" aria-label="Pages">
      {!p.first ? <a href="/devices">First page</a> : null}
      {p.nextCursor ? <a href={`/devices?cursor=${encodeURIComponent(p.nextCursor)}${p.organizationId ? `&org=${p.organizationId}` : ''}`}>Next page</a> : null}
    </nav>
  </Layout>
);

export interface DeviceView extends ViewBase {
  device: DeviceInfo;
  /** Owner or admin: may change the device and see its log. */
  manage: boolean;
  grants: GrantInfo[];
  log: AccessLogRow[];
  logNext: string | null;
  /** Values to put back into the grant form after an error. */
  grantEmail?: string;
  /** Installer links (owner and admins). */
  links?: DeviceLinkInfo[];
  /** A link just made: its URL is shown this once. */
  newLink?: { url: string; expiresAt: string };
  /** The device's organisation (for those who see the device, its name gives nothing away). */
  organizationName?: string | undefined;
}

export const AccessLogTable: FC<{ entries: AccessLogRow[]; now: Date; showDevice?: boolean; caption: string }> = (p) => (
  <ListTable
    rows={p.entries}
    empty="No requests in this range."
    stack
    caption={p.caption}
    columns={['Time (UTC)', ...(p.showDevice ? ['Device'] : []), 'Who', 'From', 'Request', { label: 'Status', num: true }, { label: 'In / out', num: true }, { label: 'ms', num: true }]}
  >
    {p.entries.map((e) => (
      <tr>
        <td class="mono" data-label="Time (UTC)">
          {e.at.slice(0, 19).replace('T', ' ')}
        </td>
        {p.showDevice ? (
          <td data-label="Device">
            <a href={`/devices/${e.serial}`}>{e.serial}</a>
          </td>
        ) : null}
        <td data-label="Who">{e.email ?? (e.linkId ? <span>installer link <span class="mono">{e.linkId.slice(0, 8)}</span></span> : e.userId ? <span class="note">deleted account</span> : <span class="note">anonymous</span>)}</td>
        <td class="mono" data-label="From">
          {e.clientIp}
        </td>
        <td class="mono" data-label="Request">
          {e.method} {e.path.length > 80 ? `${e.path.slice(0, 80)}…` : e.path}
        </td>
        <td class="num" data-label="Status">
          {e.status}
        </td>
        <td class="num" data-label="In / out">
          {formatBytes(e.bytesIn)} / {formatBytes(e.bytesOut)}
        </td>
        <td class="num" data-label="ms">
          {e.durationMs}
        </td>
      </tr>
    ))}
  </ListTable>
);

export const DevicePage: FC<DeviceView> = (p) => {
  const d = p.device;
  const base = `/devices/${d.serial}`;
  return (
    <Page view={p} title={`Device ${d.serial}`} current={p.user.role === 'admin' && d.owner?.id !== p.user.id ? '/admin/devices' : '/devices'}>
      <p>
        <a class="button" href={d.url}>
          Open device
        </a>{' '}
        <span class="note">{d.url}</span>
      </p>
      <div class="cols">
        <section aria-labelledby="status-h">
          <h2 id="status-h">Status</h2>
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <StateDot online={d.online} status={d.status} />
            </dd>
            <dt>Last handshake</dt>
            <dd>
              <When iso={d.lastHandshakeAt} now={p.now} />
            </dd>
            <dt>Endpoint</dt>
            <dd class="mono">{d.lastEndpoint ?? '—'}</dd>
            <dt>Remote access window</dt>
            <dd>
              <ExposureWindow device={d} now={p.now} />
            </dd>
            <dt>Agent version</dt>
            <dd>{d.agentVersion ?? <span class="note">unknown</span>}</dd>
            <dt>Attested</dt>
            <dd>
              <Attestation device={d} now={p.now} />
            </dd>
            <dt>Traffic</dt>
            <dd>
              {formatBytes(d.rxBytes)} received, {formatBytes(d.txBytes)} sent
            </dd>
            <dt>Tunnel address</dt>
            <dd class="mono">{d.tunnelIp}</dd>
            <dt>Owner</dt>
            <dd>{d.owner ? (d.owner.id === p.user.id ? 'you' : d.owner.email) : <span class="note">nobody</span>}</dd>
            {p.organizationName ? (
              <>
                <dt>Organisation</dt>
                <dd>{p.organizationName}</dd>
              </>
            ) : null}
            <dt>Access</dt>
            <dd>{POLICY_TEXT[d.accessPolicy]}</dd>
            <dt>Tags</dt>
            <dd>
              <Tags tags={d.tags} />
            </dd>
            <dt>Registered</dt>
            <dd>
              <When iso={d.registeredAt} now={p.now} />
            </dd>
          </dl>
        </section>
        {p.manage ? <DeviceSettings {...p} base={base} /> : null}
      </div>
      {p.manage ? <GrantsSection {...p} base={base} /> : null}
      {p.manage ? <InstallerLinksSection links={p.links ?? []} base={base} csrf={p.csrf} now={p.now} newLink={p.newLink} /> : null}
      {/* The log is fetched only for those who may read it (owners, admins, every role of the device's organisation). */}
      {p.manage || p.log.length > 0 ? (
        <section aria-labelledby="log-h">
          <h2 id="log-h">Access log</h2>
          <AccessLogTable entries={p.log} now={p.now} caption={`Requests to ${d.serial}, newest first`} />
          <nav class="pager" aria-label="Access log pages">
            {p.logNext ? <a href={`${base}?log=${encodeURIComponent(p.logNext)}#log-h`}>Older requests</a> : null}
            {p.user.role === 'admin' ? <a href={`/admin/access-log?serial=${d.serial}`}>Search this device’s log</a> : null}
          </nav>
        </section>
      ) : null}
    </Page>
  );
};

/** Whether the device proved its serial with a vendor certificate, and which one. */
const Attestation: FC<{ device: DeviceInfo; now: Date }> = ({ device: d, now }) =>
  d.attested ? (
    <span>
      Yes, by its vendor certificate{d.attestationSubject ? <span class="mono"> {d.attestationSubject}</span> : null}
      {d.attestationIssuer ? <span class="note"> (issued by {d.attestationIssuer})</span> : null}, <When iso={d.attestedAt} now={now} />
    </span>
  ) : (
    <span class="note">No (no vendor certificate proved this serial)</span>
  );

const DeviceSettings: FC<DeviceView & { base: string }> = (p) => (
  <section aria-labelledby="settings-h">
    <h2 id="settings-h">Settings</h2>
    <form method="post" action={`${p.base}/status`} class="panel">
      <Csrf token={p.csrf} />
      {p.device.status === 'enabled' ? (
        <>
          <p class="note" style="margin:0">Disabling disconnects the device and refuses every visitor until it is enabled.</p>
          <button type="submit" name="status" value="disabled" class="danger">
            Disable device
          </button>
        </>
      ) : (
        <>
          <p style="margin:0">This device is disabled.</p>
          <button type="submit" name="status" value="enabled">
            Enable device
          </button>
        </>
      )}
    </form>
    <form method="post" action={`${p.base}/policy`} class="panel">
      <Csrf token={p.csrf} />
      <fieldset style="border:0;padding:0;margin:0">
        <legend style="font-weight:500">Who may open the device</legend>
        {(['owners', 'public'] as const).map((v) => (
          <label style="font-weight:400">
            <input type="radio" name="policy" value={v} checked={p.device.accessPolicy === v} />
            {POLICY_TEXT[v]}
          </label>
        ))}
      </fieldset>
      <button type="submit">Save access policy</button>
    </form>
    <form method="post" action={`${p.base}/tags`} class="panel">
      <Csrf token={p.csrf} />
      <label for="tags" style="margin-top:0">
        Tags <span class="note">(labels such as “roof” or “berlin”, separated by spaces or commas)</span>
      </label>
      <input id="tags" name="tags" type="text" class="wide" value={p.device.tags.join(', ')} autocomplete="off" />
      <button type="submit">Save tags</button>
    </form>
  </section>
);

const GrantsSection: FC<DeviceView & { base: string }> = (p) => (
  <section aria-labelledby="grants-h">
    <h2 id="grants-h">People with access</h2>
    <ListTable
      rows={p.grants}
      empty={<>Only the owner{p.device.accessPolicy === 'public' ? ' (and, with the public policy, anyone)' : ''} can open this device.</>}
      columns={['Account', 'Given', 'Until']}
      actions
      stack
      caption={<>Accounts given access to {p.device.serial}</>}
    >
      {p.grants.map((g) => {
        const expired = g.expiresAt !== null && Date.parse(g.expiresAt) <= p.now.getTime();
        return (
          <tr>
            <td data-label="Account">
              {g.email}
              {g.readOnly ? <span class="note"> (read-only)</span> : null}
            </td>
            <td data-label="Given">
              <When iso={g.createdAt} now={p.now} />
            </td>
            <td data-label="Until">{g.expiresAt ? <span>{expired ? 'expired ' : ''}<When iso={g.expiresAt} now={p.now} /></span> : 'no expiry'}</td>
            <td data-label="">
              <RevokeButton action={`${p.base}/grants/revoke`} csrf={p.csrf} fields={{ userId: g.userId }} label={`Revoke access for ${g.email}`} />
            </td>
          </tr>
        );
      })}
    </ListTable>
    <form method="post" action={`${p.base}/grants`} class="row panel">
      <Csrf token={p.csrf} />
      <InputField label="Give access to (e-mail of an account)" rowStyle="flex:2 1 16rem" id="grant-email" name="email" type="email" class="wide" required autocomplete="off" value={p.grantEmail ?? ''} />
      <div>
        <SelectField id="grant-for" name="duration" label="For" options={GRANT_DURATIONS} selected="48h" />
      </div>
      <ReadOnlyChoice what="access" />
      <button type="submit">Give access</button>
    </form>
  </section>
);
