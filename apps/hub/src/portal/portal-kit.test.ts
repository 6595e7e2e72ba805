// runForm, the portal's one way of showing a refused form again: a domain error becomes the form's
// page with the status and headers of the hub's error map; anything else reaches the error page.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ConflictError, RateLimitedError, ValidationError } from '../errors.js';
import { runForm } from './portal-kit.js';

function appThrowing(err: Error | undefined): Hono {
  const app = new Hono();
  app.post('/form', (c) =>
    runForm(
      c,
      async () => {
        if (err) throw err;
        return c.redirect('/done', 303);
      },
      async (refused) => `<p>form again: ${refused.message}</p>`,
    ),
  );
  app.onError((e, c) => c.text(`error page: ${e.message}`, 500));
  return app;
}

describe('runForm', () => {
  it('answers what the action answers when it succeeds', async () => {
    const res = await appThrowing(undefined).request('/form', { method: 'POST' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/done');
  });

  it.each([
    [new ValidationError('name must not be empty', { field: 'name' }), 400],
    [new ConflictError('prefix ab is already reserved'), 409],
  ])('shows the form again with the message and the status of %s', async (err, status) => {
    const res = await appThrowing(err).request('/form', { method: 'POST' });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toBe(`<p>form again: ${err.message}</p>`);
  });

  it("adds the error's headers: a rate limit says when to try again", async () => {
    const res = await appThrowing(new RateLimitedError('too many failed logins; try again in 30 seconds', 29.2)).request('/form', { method: 'POST' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await res.text()).toContain('too many failed logins');
  });

  it('leaves any other error to the error page', async () => {
    const res = await appThrowing(new Error('connection reset')).request('/form', { method: 'POST' });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('error page: connection reset');
  });
});
