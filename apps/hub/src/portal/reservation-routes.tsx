/** @jsxImportSource hono/jsx */
// Admin routes for reserved serial prefixes: the list with a reserve form, and release. Bad input
// answers the page again with the message and the form as typed; nothing changes.
import type { Hono } from 'hono';
import { doneMessage, field, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';
import { ReservationsPage, type ReservationForm } from './reservation-pages.js';

export function registerReservationRoutes(app: Hono<PortalEnv>, kit: PortalKit): void {
  const { registry } = kit;
  const page = async (c: PortalContext, extra: { form?: ReservationForm; error?: string } = {}) => (
    <ReservationsPage
      user={kit.userOf(c)}
      csrf={c.get('csrf')}
      now={registry.context.now()}
      notice={doneMessage(c)}
      reservations={await registry.listSerialReservations()}
      attestation={registry.requiresAttestation}
      {...extra}
    />
  );

  app.get('/admin/serial-reservations', async (c) => c.html(await page(c)));

  app.post('/admin/serial-reservations', async (c) => {
    const body = await readForm(c);
    const form = { prefix: field(body, 'prefix', 100).trim(), description: field(body, 'description', 200).trim() };
    return runForm(
      c,
      async () => {
        await registry.addSerialReservation({ ...form, createdBy: kit.userOf(c).id });
        return c.redirect('/admin/serial-reservations?done=reservation-added', 303);
      },
      (err) => page(c, { form, error: err.message }),
    );
  });

  app.post('/admin/serial-reservations/:prefix/delete', async (c) => {
    await registry.removeSerialReservation(c.req.param('prefix').slice(0, 63));
    return c.redirect('/admin/serial-reservations?done=reservation-removed', 303);
  });
}
