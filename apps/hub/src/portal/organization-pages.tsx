/** @jsxImportSource hono/jsx */
// Organisation pages: the list (all of them for a hub administrator, with a create form; a member's
// own with their role) and one organisation with its members and roles and its API tokens, with the
// forms the viewer's role allows (owners: members; admins and owners: tokens).
import type { FC } from 'hono/jsx';
import type { AdminPeerInfo, MemberInfo, OrganizationInfo } from '../registry/index.js';
import type { OrganizationTokenInfo } from '../auth/api-tokens.js';
import type { ViewBase } from './device-pages.js';
import { Csrf, InputField, ListTable, Page, PanelForm, PostButton, SelectField, WhenCell } from './layout.js';
import { OrganizationPeerSection } from './organization-peer-section.js';

const ROLES = ['owner', 'admin', 'technician', 'viewer'] as const;
const ROLE_TEXT: Record<string, string> = {
  owner: 'members and everything',
  admin: 'devices, tokens, peers',
  technician: 'opens devices, forwards TCP',
  viewer: 'lists and logs',
};

const ROLE_OPTIONS = ROLES.map((r) => ({ value: r, label: `${r} (${ROLE_TEXT[r]})` }));

/** The role drop-down of a member or token form, in its own row. */
const RoleSelect: FC<{ id: string; selected?: string | undefined }> = ({ id, selected }) => (
  <div>
    <SelectField id={id} name="role" label="Role" options={ROLE_OPTIONS} selected={selected ?? 'viewer'} />
  </div>
);

export const OrganizationsPage: FC<ViewBase & { organizations: (OrganizationInfo & { role: string | null })[]; superadmin: boolean; name?: string }> = (p) => (
  <Page view={p} title="Organisations" current="/orgs">
    {p.superadmin ? (
      <form method="post" action="/orgs" class="panel" aria-labelledby="new-org-h">
        <h2 id="new-org-h">New organisation</h2>
        <Csrf token={p.csrf} />
        <label for="org-name">Name</label>
        <input id="org-name" name="name" type="text" required maxlength={64} value={p.name ?? ''} placeholder="Acme Metering" />
        <button type="submit">Create organisation</button>
      </form>
    ) : null}
    <ListTable
      rows={p.organizations}
      empty="You are not a member of any organisation. Devices you own and devices shared with you are under My devices."
      columns={['Organisation', 'Your role', 'Created']}
    >
      {p.organizations.map((o) => (
        <tr>
          <td>
            <a href={`/orgs/${o.id}`}>{o.name}</a>
          </td>
          <td>{o.role ?? 'hub administrator'}</td>
          <WhenCell iso={o.createdAt} now={p.now} />
        </tr>
      ))}
    </ListTable>
  </Page>
);

export interface OrganizationView extends ViewBase {
  organization: OrganizationInfo;
  role: string | null;
  members: MemberInfo[];
  /** Undefined when the viewer may not see tokens. */
  tokens: OrganizationTokenInfo[] | undefined;
  manageMembers: boolean;
  /** The plaintext of a token just made: shown once. */
  newToken?: string | undefined;
  /** The organisation's admin WireGuard peers; undefined when the viewer may not manage peers. */
  peers?: AdminPeerInfo[] | undefined;
  /** The wg-quick file of a peer just added. */
  newPeerConfig?: string | undefined;
}

export const OrganizationPage: FC<OrganizationView> = (p) => (
  <Page view={p} title={p.organization.name} current="/orgs">
    <p>
      Your role here: <strong>{p.role ?? 'hub administrator'}</strong>. <a href={`/devices`}>Its devices</a> are listed with yours.
    </p>
    {p.newToken ? (
      <div class="panel" role="status">
        <p>Copy the token now: it is shown only this once and cannot be retrieved later.</p>
        <p>
          <code class="mono">{p.newToken}</code>
        </p>
      </div>
    ) : null}
    <h2>Members</h2>
    <ListTable rows={p.members} empty="No members." columns={['E-mail address', 'Role', 'Since']} actions={p.manageMembers}>
      {p.members.map((m) => (
        <tr>
          <td>{m.email}</td>
          <td>{m.role}</td>
          <WhenCell iso={m.createdAt} now={p.now} />
          {p.manageMembers ? (
            <td>
              <PostButton action={`/orgs/${p.organization.id}/members/${m.userId}/delete`} csrf={p.csrf} class="danger" label={`Remove ${m.email}`}>
                Remove
              </PostButton>
            </td>
          ) : null}
        </tr>
      ))}
    </ListTable>
    {p.manageMembers ? (
      <PanelForm id="add-member-h" heading="Add a member or change a role" action={`/orgs/${p.organization.id}/members`} csrf={p.csrf} submit="Save member">
        <InputField label="E-mail address" id="member-email" name="email" type="email" required maxlength={254} autocomplete="off" />
        <RoleSelect id="member-role" />
      </PanelForm>
    ) : null}
    {p.tokens ? (
      <>
        <h2>API tokens</h2>
        <p class="note">An organisation token acts for the organisation with its role, whoever made it: for automation.</p>
        <ListTable rows={p.tokens} empty="No organisation tokens." columns={['Name', 'Role', 'Prefix', 'Last used']} actions>
          {p.tokens.map((t) => (
            <tr>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td class="mono">{t.displayPrefix}</td>
              <WhenCell iso={t.lastUsedAt} now={p.now} never="never" />
              <td>
                {t.revokedAt ? (
                  'revoked'
                ) : (
                  <PostButton action={`/orgs/${p.organization.id}/tokens/${t.id}/revoke`} csrf={p.csrf} class="danger" label={`Revoke ${t.name}`}>
                    Revoke
                  </PostButton>
                )}
              </td>
            </tr>
          ))}
        </ListTable>
        <PanelForm id="new-token-h" heading="New organisation token" action={`/orgs/${p.organization.id}/tokens`} csrf={p.csrf} submit="Make token">
          <InputField label="Name" id="token-name" name="name" type="text" required maxlength={100} placeholder="ci" />
          <RoleSelect id="token-role" />
        </PanelForm>
      </>
    ) : null}
    {p.peers ? <OrganizationPeerSection organizationId={p.organization.id} peers={p.peers} csrf={p.csrf} now={p.now} newConfig={p.newPeerConfig} /> : null}
  </Page>
);
