// Bearer-token authentication for the admin API: `Authorization: Bearer <API token>` of a hub
// administrator, of a member of an organisation, or of an organisation, with the scope the route
// needs (`read` for GET, `write` for changes). `X-Porthole-Organization: <id or name>` (the CLI's
// --org) narrows the caller to one organisation. What each route then lets the caller see and do is
// decided by auth/authorization.ts. Failed attempts are counted per client address so token
// guessing is throttled on top of 256-bit tokens.
import type { MiddlewareHandler } from 'hono';
import { NotFoundError, ForbiddenError, UnauthorizedError } from '../errors.js';
import { canSee, scopeActor } from '../auth/authorization.js';
import type { ApiPrincipal } from '../auth/api-tokens.js';
import type { Registry } from '../registry/index.js';

/** hono environment of the API: the authenticated principal travels in `c.get('principal')`. */
export interface ApiEnv {
  Variables: { principal: ApiPrincipal };
}

/** Narrows a request to one organisation (the CLI's --org); an id or a name. */
export const ORGANIZATION_HEADER = 'x-porthole-organization';

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
    if (!principal.actor.superadmin && principal.actor.memberships.size === 0) {
      throw new ForbiddenError('only the API tokens of hub administrators, of organisation members and of organisations may use the admin API');
    }
    if (!principal.scopes.includes('write') && !(scope === 'read' && principal.scopes.includes('read'))) {
      throw new ForbiddenError(`this API token lacks the ${scope} scope`);
    }
    const named = c.req.header(ORGANIZATION_HEADER);
    if (named !== undefined) {
      // An organisation the caller cannot see answers like one that does not exist.
      const unknown = () => new NotFoundError(`organization ${JSON.stringify(named.slice(0, 70))} does not exist`, { field: ORGANIZATION_HEADER });
      const org = named.length > 200 ? undefined : await registry.findOrganization(named);
      if (!org || !canSee(principal.actor, org.id)) throw unknown();
      c.set('principal', { ...principal, actor: scopeActor(principal.actor, org.id) });
    } else {
      c.set('principal', principal);
    }
    await next();
  };
}
