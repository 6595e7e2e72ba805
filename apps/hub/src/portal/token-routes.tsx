/** @jsxImportSource hono/jsx */
// Admin token routes: enrollment tokens (expiry, uses, tags) and API tokens (name, scopes, expiry).
// Creating answers 201 with the page that shows the plaintext once (no redirect: the secret must
// not travel in a URL); revoking redirects back to the list.
import { type ApiTokenScope } from '@porthole/db';
import type { Hono } from 'hono';
import { ValidationError } from '../errors.js';
import { API_TOKEN_DURATIONS, durationFrom, ENROLLMENT_DURATIONS, splitTags } from './format.js';
import { doneMessage, field, fieldAll, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';
import { ApiTokensPage, EnrollmentTokensPage, type EnrollmentForm } from './token-pages.js';

export function registerTokenRoutes(app: Hono<PortalEnv>, kit: PortalKit): void {
  const { registry } = kit;
  const base = (c: PortalContext) => ({ user: kit.userOf(c), csrf: c.get('csrf'), now: registry.context.now(), notice: doneMessage(c) });

  // ---- enrollment tokens ----

  app.get('/admin/enrollment-tokens', async (c) =>
    c.html(<EnrollmentTokensPage {...base(c)} tokens={await registry.listEnrollmentTokens()} />),
  );

  app.post('/admin/enrollment-tokens', async (c) => {
    const body = await readForm(c);
    const form: EnrollmentForm = {
      description: field(body, 'description', 200).trim(),
      maxUses: field(body, 'maxUses', 12).trim(),
      duration: field(body, 'duration', 10),
      tags: field(body, 'tags', 2000),
    };
    return runForm(
      c,
      async () => {
        const maxUses = Number(form.maxUses);
        if (!/^\d{1,7}$/.test(form.maxUses!)) throw new ValidationError('devices it may enroll must be a whole number from 1 to 1000000', { field: 'maxUses' });
        const created = await registry.createEnrollmentToken({
          createdBy: kit.userOf(c).id,
          description: form.description!,
          maxUses,
          expiresInSeconds: durationFrom(ENROLLMENT_DURATIONS, form.duration!, 'valid for').seconds!,
          tags: splitTags(form.tags!),
        });
        return c.html(<EnrollmentTokensPage {...base(c)} tokens={await registry.listEnrollmentTokens()} created={created} />, 201);
      },
      async (err) => <EnrollmentTokensPage {...base(c)} tokens={await registry.listEnrollmentTokens()} form={form} error={err.message} />,
    );
  });

  app.post('/admin/enrollment-tokens/:id/revoke', async (c) => {
    await registry.revokeEnrollmentToken(c.req.param('id').slice(0, 64));
    return c.redirect('/admin/enrollment-tokens?done=token-revoked', 303);
  });

  // ---- API tokens ----

  app.get('/admin/api-tokens', async (c) => c.html(<ApiTokensPage {...base(c)} tokens={await registry.listApiTokens()} />));

  app.post('/admin/api-tokens', async (c) => {
    const body = await readForm(c);
    const name = field(body, 'name', 100).trim();
    return runForm(
      c,
      async () => {
        if (!name) throw new ValidationError('name must not be empty', { field: 'name' });
        const scopes = fieldAll(body, 'scope', 4, 10) as ApiTokenScope[];
        if (scopes.length === 0) throw new ValidationError('choose at least one scope (read, write)', { field: 'scopes' });
        const duration = durationFrom(API_TOKEN_DURATIONS, field(body, 'duration', 10), 'valid for');
        const created = await registry.createApiToken({ userId: kit.userOf(c).id, name, scopes, expiresInSeconds: duration.seconds });
        return c.html(<ApiTokensPage {...base(c)} tokens={await registry.listApiTokens()} created={created} />, 201);
      },
      async (err) => <ApiTokensPage {...base(c)} tokens={await registry.listApiTokens()} name={name} error={err.message} />,
    );
  });

  app.post('/admin/api-tokens/:id/revoke', async (c) => {
    await registry.revokeApiToken(c.req.param('id').slice(0, 64));
    return c.redirect('/admin/api-tokens?done=token-revoked', 303);
  });
}
