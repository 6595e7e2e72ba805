/** @jsxImportSource hono/jsx */
// Admin WireGuard peer pages: the list with a create form (paste the laptop's public key — the
// recommended way — or let the hub generate a key pair whose private half appears in that one
// response only), and a peer's page with its wg-quick file, a download and a QR code.
import { raw } from 'hono/html';
import type { FC } from 'hono/jsx';
import { keyTag } from '@porthole/wireguard';
import type { AdminPeerInfo } from '../registry/index.js';
import type { ViewBase } from './device-pages.js';
import { Csrf, ErrorNote, Layout, ListTable, Notice, Page, When, WhenCell } from './layout.js';

export const PeersPage: FC<ViewBase & { peers: AdminPeerInfo[]; form?: { name: string; publicKey: string; mode: string } }> = (p) => (
  <Page view={p} title="WireGuard peers" current="/admin/peers">
    <p>
      An admin peer is a laptop running standard WireGuard (<code>wg-quick</code> or the WireGuard app). It joins the overlay and can reach
      every device’s tunnel address directly, for SSH, VNC or Modbus/TCP.
    </p>
    <h2 id="new-h">Add a peer</h2>
    <form method="post" action="/admin/peers" class="panel" aria-labelledby="new-h">
      <Csrf token={p.csrf} />
      <label for="name" style="margin-top:0">
        Name
      </label>
      <input id="name" name="name" type="text" class="wide" required maxlength={64} value={p.form?.name ?? ''} placeholder="alice-laptop" />
      <fieldset style="border:0;padding:0;margin:.8rem 0 0">
        <legend style="font-weight:500">Keys</legend>
        <label style="font-weight:400;margin:.3rem 0">
          <input type="radio" name="mode" value="paste" checked={(p.form?.mode ?? 'paste') === 'paste'} />
          I paste my laptop’s public key (recommended: the private key never leaves the laptop)
        </label>
        <label style="font-weight:400;margin:.3rem 0">
          <input type="radio" name="mode" value="generate" checked={p.form?.mode === 'generate'} />
          Generate a key pair here (the private key is shown once, in the next page only, and never stored)
        </label>
      </fieldset>
      <label for="publicKey">
        Public key <span class="note">(from <code>wg genkey | tee private.key | wg pubkey</code>; not needed when generating)</span>
      </label>
      <input id="publicKey" name="publicKey" type="text" class="wide mono" maxlength={60} value={p.form?.publicKey ?? ''} autocomplete="off" spellcheck={false} />
      <button type="submit">Add peer</button>
    </form>
    <h2>Peers</h2>
    <ListTable rows={p.peers} empty="No admin peers yet." columns={['Name', 'Tunnel address', 'Key', 'Last handshake', 'Endpoint']}>
      {p.peers.map((peer) => (
        <tr>
          <td>
            <a href={`/admin/peers/${peer.id}`}>{peer.name}</a>
          </td>
          <td class="mono">{peer.tunnelIp}</td>
          <td class="mono">{keyTag(peer.publicKey)}</td>
          <WhenCell iso={peer.lastHandshakeAt} now={p.now} />
          <td class="mono">{peer.lastEndpoint ?? '—'}</td>
        </tr>
      ))}
    </ListTable>
  </Page>
);

export interface PeerView extends ViewBase {
  peer: AdminPeerInfo;
  config: string;
  /** SVG markup from the qrcode library (its own output, never user text). */
  qrSvg: string;
  /** Set only in the response that created the peer with a generated key. */
  privateKey?: string;
  created?: boolean;
  /** What the download is called (wg-quick names the interface after the file). */
  fileName: string;
}

export const PeerPage: FC<PeerView> = (p) => (
  <Layout title={`WireGuard peer ${p.peer.name}`} user={p.user} csrf={p.csrf} current="/admin/peers">
    {p.created ? <Notice message={`Peer added with tunnel address ${p.peer.tunnelIp}.`} /> : null}
    <ErrorNote message={p.error} />
    {p.privateKey ? (
      <p class="error" role="alert">
        This page holds the peer’s private key. Download or scan the configuration now: it is not stored and cannot be shown again.
      </p>
    ) : null}
    <div class="cols">
      <section aria-labelledby="conf-h">
        <h2 id="conf-h">wg-quick configuration</h2>
        <pre aria-label="wg-quick configuration">{p.config}</pre>
        {p.privateKey ? (
          <form method="post" action={`/admin/peers/${p.peer.id}/wg-quick.conf`}>
            <Csrf token={p.csrf} />
            <input type="hidden" name="privateKey" value={p.privateKey} />
            <button type="submit">Download configuration</button>
          </form>
        ) : (
          <p>
            <a class="button" href={`/admin/peers/${p.peer.id}/wg-quick.conf`}>
              Download configuration
            </a>
          </p>
        )}
        {!p.privateKey ? (
          <p class="note">
            Put your private key into the PrivateKey line, then run <code>wg-quick up ./{p.fileName}</code>.
          </p>
        ) : null}
      </section>
      <section aria-labelledby="qr-h">
        <h2 id="qr-h">QR code</h2>
        <figure class="qr" role="img" aria-label={`QR code of the wg-quick configuration for ${p.peer.name}`} style="margin:0">
          {raw(p.qrSvg)}
        </figure>
        <p class="note">
          {p.privateKey
            ? 'Scan it with the WireGuard app (Add tunnel → Scan from QR code).'
            : 'It carries no private key: after scanning, generate or paste the private key in the WireGuard app, and its public key must be the one above.'}
        </p>
      </section>
    </div>
    <h2>Details</h2>
    <dl class="facts">
      <dt>Tunnel address</dt>
      <dd class="mono">{p.peer.tunnelIp}</dd>
      <dt>Public key</dt>
      <dd class="mono">{p.peer.publicKey}</dd>
      <dt>Added</dt>
      <dd>
        <When iso={p.peer.createdAt} now={p.now} />
      </dd>
      <dt>Last handshake</dt>
      <dd>
        <When iso={p.peer.lastHandshakeAt} now={p.now} />
      </dd>
      <dt>Endpoint</dt>
      <dd class="mono">{p.peer.lastEndpoint ?? '—'}</dd>
    </dl>
    <form method="post" action={`/admin/peers/${p.peer.id}/delete`} class="panel">
      <Csrf token={p.csrf} />
      <p style="margin:0">Removing the peer disconnects the laptop and frees its tunnel address.</p>
      <button type="submit" class="danger">
        Remove peer
      </button>
    </form>
  </Layout>
);
