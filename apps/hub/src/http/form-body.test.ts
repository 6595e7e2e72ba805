// Found by the hub fuzzer: a multipart body undici cannot parse made the CSRF check throw a
// TypeError, answered 500. It is the client's mistake: 400, in the error shape.
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { csrfProtection } from './csrf.js';
import { errorResponse } from './error-response.js';

describe('form bodies', () => {
  const app = new Hono();
  app.onError((err) => errorResponse(err));
  app.use(csrfProtection({ key: new Uint8Array(32), allowedOrigins: ['https://portal.example.io'], binding: () => 'session' }));
  app.all('*', (c) => c.text('reached'));

  it.each([
    ['multipart without its boundary', 'multipart/form-data; boundary=zz', 'a=b'],
    ['multipart cut short', 'multipart/form-data; boundary=zz', '--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb'],
  ])('%s: 400 with the error shape, never 500', async (_name, type, body) => {
    for (const method of ['POST', 'PUT']) {
      const res = await app.request('/', { method, body, headers: { 'content-type': type } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: 'invalid_request', message: 'the form could not be read; reload the page and send it again' } });
    }
  });
});
