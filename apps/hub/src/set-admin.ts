// `npm start -- set-admin`: creates or resets the admin account of PORTHOLE_ADMIN_* on the hub's
// database (embedded or PostgreSQL) without starting the hub, for a data directory whose first start
// made another account, or a forgotten admin password. An embedded database that a running hub holds
// is refused by its lock: stop the hub first.
import { join } from 'node:path';
import { createDatabase } from '@porthole/db';
import { encodeKey, publicKeyFromPrivate } from '@porthole/wireguard';
import type { HubConfig } from './config/config-schema.js';
import { loadOrCreateHubKey } from './hub-key.js';
import type { Logger } from './ops/logger.js';
import { createRegistry } from './registry/index.js';
import type { SetAdminResult } from './registry/admin-bootstrap.js';

export async function runSetAdmin(config: HubConfig, logger: Logger): Promise<SetAdminResult> {
  const database = await createDatabase({
    ...(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, 'pglite') }),
    logger: logger.child({ component: 'db' }),
  });
  try {
    const registry = createRegistry({
      db: database.db,
      overlayCidr: config.overlayCidr,
      // Accounts need none of the WireGuard identity; it is the hub's own, as a start would read it.
      hub: { publicKey: encodeKey(publicKeyFromPrivate(loadOrCreateHubKey(config.dataDir))), endpoint: config.wgEndpoint },
      portalUrl: `http://${config.portalHost}`,
      deviceUrl: (serial) => `http://${serial}.${config.domain}/`,
      logger,
    });
    return await registry.setAdmin({ adminEmail: config.adminEmail, adminPassword: config.adminPassword, adminToken: config.adminToken });
  } finally {
    await database.close();
  }
}

/** One line for the terminal. */
export function describeSetAdmin(result: SetAdminResult): string {
  const token = {
    added: '; PORTHOLE_ADMIN_TOKEN is its API token now',
    restored: '; PORTHOLE_ADMIN_TOKEN works again',
    unchanged: '; PORTHOLE_ADMIN_TOKEN was its token already',
    none: '',
  }[result.token];
  return `${result.created ? 'created' : 'reset'} the admin account ${result.admin.email}${result.created ? '' : ' (new password, admin, enabled; its sessions ended)'}${token}`;
}
