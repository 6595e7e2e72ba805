// Organisations (tenants) and their members. Every device, enrollment token, admin peer, serial
// reservation and access-log entry belongs to one; an API token may act for one with a role.
// The default organisation (fixed id) is where migration 0006 moved today's data and where
// self-service devices of users outside any organisation land.
import { sql } from 'drizzle-orm';
import { check, index, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { ORGANIZATION_ROLES } from './organization-roles.js';
import { createdAt, id, ownedBy } from './columns.js';

export { DEFAULT_ORGANIZATION_ID, ORGANIZATION_ROLES, type OrganizationRole } from './organization-roles.js';

export const organizations = pgTable(
  'organizations',
  {
    id: id(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  // Names are compared case-insensitively (`--org Acme` = `--org acme`).
  (t) => [uniqueIndex('organizations_name_unique').on(sql`lower(${t.name})`)],
);

export const organizationMembers = pgTable(
  'organization_members',
  {
    organizationId: ownedBy('organization_id', () => organizations.id),
    userId: ownedBy('user_id', () => users.id),
    role: text('role', { enum: ORGANIZATION_ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.userId] }),
    index('organization_members_user_idx').on(t.userId),
    check('organization_members_role_check', sql`${t.role} in ('owner', 'admin', 'technician', 'viewer')`),
  ],
);
