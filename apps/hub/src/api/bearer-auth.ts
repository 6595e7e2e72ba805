// Bearer-token authentication for the admin API: `Authorization: Bearer <API token>`, an admin's
// token only, with the scope the route needs (`read` for GET, `write` for changes). Failed attempts
// are counted per client address so token guessing is throttled on top of 256-bit tokens.
import type { MiddlewareHandler } from 'hono';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { ApiPrincipal } from '../auth/api-tokens.js';
import type { Registry } from '../registry/index.js';

/** hono environment of the API: the authenticated principal travels in `c.get('principal')`. */
export interface ApiEnv {
  Variables: { principal: ApiPrincipal };
}

export function requireApiToken(
  registry: Registry,
  scope: 'read' | 'write',
  onFailure?: MiddlewareHandler<ApiEnv>,
): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const principal = m ? await registry.authenticateApiToken(m[1]!) : undefined;
    if (!principal) {
      // The failure limiter throws RateLimitedError once an address has failed too often.
      if (onFailure) await onFailure(c, async () => {});
      throw new UnauthorizedError(
        m ? 'the API token is not valid (unknown, revoked or expired)' : 'this endpoint needs an API token: Authorization: Bearer <token>',
        { field: 'authorization' },
      );
    }
    if (principal.user.role !== 'admin') throw new ForbiddenError('only administrators\' API tokens may use the admin API');
    if (!principal.scopes.includes('write') && !(scope === 'read' && principal.scopes.includes('read'))) {
      throw new ForbiddenError(`this API token lacks the ${scope} scope`);
    }
    c.set('principal', principal);
    await next();
  };
}
