/** @jsxImportSource hono/jsx */
// The signed-in user's password page and the administrators' account list (disable / enable).
import type { FC } from 'hono/jsx';
import type { UserInfo } from '../registry/accounts.js';
import type { ViewBase } from './device-pages.js';
import { Csrf, ErrorNote, Layout, Notice, When } from './layout.js';

export const PasswordPage: FC<ViewBase & { minLength: number }> = (p) => (
  <Layout title="Change password" user={p.user} csrf={p.csrf} current="/account/password" narrow>
    <Notice message={p.notice} />
    <ErrorNote message={p.error} />
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
  </Layout>
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
  <Layout title="Users" user={p.user} csrf={p.csrf} current="/admin/users">
    <Notice message={p.notice} />
    <ErrorNote message={p.error} />
    <p class="note">
      Disabling an account signs it out everywhere (portal and device pages) and stops its API tokens until it is enabled again.
    </p>
    <table>
      <thead>
        <tr>
          <th scope="col">E-mail address</th>
          <th scope="col">Role</th>
          <th scope="col">Created</th>
          <th scope="col">Password changed</th>
          <th scope="col">State</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {p.users.map((u) => (
          <tr>
            <td>{u.email}</td>
            <td>{u.role}</td>
            <td>
              <When iso={u.createdAt} now={p.now} />
            </td>
            <td>
              <When iso={u.passwordChangedAt} now={p.now} never="—" />
            </td>
            <td>
              <AccountState u={u} now={p.now} />
            </td>
            <td>
              {u.id === p.user.id ? (
                <span class="note">you</span>
              ) : (
                <form method="post" action={`/admin/users/${u.id}/${u.disabledAt ? 'enable' : 'disable'}`}>
                  <Csrf token={p.csrf} />
                  <button type="submit" aria-label={`${u.disabledAt ? 'Enable' : 'Disable'} ${u.email}`}>
                    {u.disabledAt ? 'Enable' : 'Disable'}
                  </button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </Layout>
);
