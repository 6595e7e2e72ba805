/** @jsxImportSource hono/jsx */
// The WireGuard peers section of an organisation page (owners and admins): the organisation's admin
// laptops on the overlay, each reaching only this organisation's devices; add one by its public key
// (the wg-quick file comes back, without a private key), remove one.
import type { FC } from 'hono/jsx';
import type { AdminPeerInfo } from '../registry/index.js';
import { InputField, ListTable, PanelForm, PostButton, WhenCell } from './layout.js';

export const OrganizationPeerSection: FC<{ organizationId: string; peers: AdminPeerInfo[]; csrf: string; now: Date; newConfig?: string | undefined }> = (p) => (
  <>
    <h2>WireGuard peers</h2>
    <p class="note">An admin laptop with stock WireGuard on the overlay: it reaches this organisation's devices only.</p>
    {p.newConfig ? (
      <div class="panel" role="status">
        <p>Peer added. Its wg-quick configuration (put the laptop's private key into the PrivateKey line):</p>
        <pre aria-label="wg-quick configuration">{p.newConfig}</pre>
      </div>
    ) : null}
    <ListTable rows={p.peers} empty="No WireGuard peers." columns={['Name', 'Tunnel address', 'Last handshake']} actions>
      {p.peers.map((peer) => (
        <tr>
          <td>{peer.name}</td>
          <td class="mono">{peer.tunnelIp}</td>
          <WhenCell iso={peer.lastHandshakeAt} now={p.now} never="never" />
          <td>
            <PostButton action={`/orgs/${p.organizationId}/peers/${peer.id}/delete`} csrf={p.csrf} class="danger" label={`Remove ${peer.name}`}>
              Remove
            </PostButton>
          </td>
        </tr>
      ))}
    </ListTable>
    <PanelForm id="new-peer-h" heading="Add a WireGuard peer" action={`/orgs/${p.organizationId}/peers`} csrf={p.csrf} submit="Add peer">
      <InputField label="Name" id="peer-name" name="name" type="text" required maxlength={64} placeholder="anna laptop" />
      <InputField label="Public key of the laptop" id="peer-key" name="publicKey" type="text" required maxlength={60} autocomplete="off" class="mono" />
    </PanelForm>
  </>
);
