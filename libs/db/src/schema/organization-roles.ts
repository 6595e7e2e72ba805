// Constants of the organisation tables, in a module of their own: accounts.ts and organizations.ts
// import each other (foreign keys, resolved lazily), and a value both read at load time must not
// depend on which of the two a program happens to import first.

/** The organisation migration 0006 created and moved every existing row into. */
export const DEFAULT_ORGANIZATION_ID = '00000000-0000-4000-8000-000000000001';

/**
 * Highest first. `owner`: members and everything in the organisation; `admin`: devices, tokens,
 * peers; `technician`: opens devices and forwards TCP, changes no settings; `viewer`: lists and logs.
 */
export const ORGANIZATION_ROLES = ['owner', 'admin', 'technician', 'viewer'] as const;
export type OrganizationRole = (typeof ORGANIZATION_ROLES)[number];
