/** @jsxImportSource hono/jsx */
// The signed-in user's password page and the administrators' account list (disable / enable).
import type { FC } from 'hono/jsx';
import type { UserInfo } from '../registry/accounts.js';
import type { ViewBase } from './device-pages.js';
import { Csrf, ListTable, Page, PostButton, When, WhenCell } from './layout.js';

export const PasswordPage: FC<ViewBase & { minLength: number }> = (p) => (
  <Page view={p} title="Change password" current="/account/password" narrow>
    <form method="post" action="/account/password">
      <Csrf token={p.csrf} />
      <input type="text" name="username" value={p.user.email} autocomplete="username" hidden readonly aria-hidden="true" />
      <label for="currentPassword">Current password</label>
      <input id="currentPassword" type="password" name="currentPassword" required autocomplete="current-password" />
      <label for="newPassword">New password (at least {p.minLength} characters)</label>
      <input id="newPassword" type="password" name="newPassword" required minlength={p.minLength} autocomplete="new-password" />
      <button type="submit">Change password</button>
    </form>
    <p class="note">Changing it signs you out everywhere else, device pages included.</p>
  </Page>
);

const AccountState: FC<{ u: UserInfo; now: Date }> = ({ u, now }) =>
  u.disabledAt ? (
    <span>
      disabled <When iso={u.disabledAt} now={now} />
    </span>
  ) : u.invited ? (
    <span class="note">invited (no password yet)</span>
  ) : (
    <span>active</span>
  );

export const UsersPage: FC<ViewBase & { users: UserInfo[] }> = (p) => (
  <Page view={p} title="Users" current="/admin/users">
    <p class="note">
      Disabling an account signs it out everywhere (portal and device pages) and stops its API tokens until it is enabled again.
    </p>
    <ListTable rows={p.users} empty="No accounts." columns={['E-mail address', 'Role', 'Created', 'Password changed', 'State']} actions>
      {p.users.map((u) => (
        <tr>
          <td>{u.email}</td>
          <td>{u.role}</td>
          <WhenCell iso={u.createdAt} now={p.now} />
          <WhenCell iso={u.passwordChangedAt} now={p.now} never="—" />
          <td>
            <AccountState u={u} now={p.now} />
          </td>
          <td>
            {u.id === p.user.id ? (
              <span class="note">you</span>
            ) : (
              <PostButton action={`/admin/users/${u.id}/${u.disabledAt ? 'enable' : 'disable'}`} csrf={p.csrf} label={`${u.disabledAt ? 'Enable' : 'Disable'} ${u.email}`}>
                {u.disabledAt ? 'Enable' : 'Disable'}
              </PostButton>
            )}
          </td>
        </tr>
      ))}
    </ListTable>
  </Page>
);
