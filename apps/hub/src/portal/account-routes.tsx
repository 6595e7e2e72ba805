/** @jsxImportSource hono/jsx */
// Account routes: /account/password for the signed-in user (current password first; every other
// session ends, this browser gets a fresh one) and /admin/users, where administrators disable and
// enable accounts (the account's sessions end; its API tokens stop until it is enabled).
import type { Hono } from 'hono';
import { MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import { clientAddress } from '../http/rate-limit.js';
import { PasswordPage, UsersPage } from './account-pages.js';
import { doneMessage, field, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';
import { setSessionCookie } from './session-cookie.js';

export function registerAccountRoutes(app: Hono<PortalEnv>, kit: PortalKit, options: { secure: boolean }): void {
  const { registry } = kit;
  const base = (c: PortalContext) => ({ user: kit.userOf(c), csrf: c.get('csrf'), now: registry.context.now(), notice: doneMessage(c) });

  app.get('/account/password', kit.requireUser, (c) => c.html(<PasswordPage {...base(c)} minLength={MIN_PASSWORD_LENGTH} />));

  app.post('/account/password', kit.requireUser, async (c) => {
    const u = kit.userOf(c);
    const body = await readForm(c);
    return runForm(
      c,
      async () => {
        const result = await registry.changePassword({
          userId: u.id,
          currentPassword: field(body, 'currentPassword', 1024),
          newPassword: field(body, 'newPassword', 1024),
          clientIp: clientAddress(c),
        });
        setSessionCookie(c, options.secure, result.session.token);
        return c.redirect('/account/password?done=password', 303);
      },
      (err) => <PasswordPage {...base(c)} minLength={MIN_PASSWORD_LENGTH} error={err.message} />,
    );
  });

  const usersPage = async (c: PortalContext, error?: string) => <UsersPage {...base(c)} users={await registry.listUsers()} error={error} />;

  app.get('/admin/users', kit.requireAdmin, async (c) => c.html(await usersPage(c)));

  for (const action of ['disable', 'enable'] as const) {
    app.post(`/admin/users/:id/${action}`, kit.requireAdmin, async (c) => {
      const u = kit.userOf(c);
      const id = c.req.param('id').slice(0, 64);
      return runForm(
        c,
        async () => {
          if (action === 'disable') await registry.disableUser(id, u);
          else await registry.enableUser(id, u);
          return c.redirect(`/admin/users?done=user-${action}d`, 303);
        },
        (err) => usersPage(c, err.message),
      );
    });
  }
}
