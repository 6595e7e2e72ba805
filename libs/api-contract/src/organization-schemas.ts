// Organisations: their members with roles, and organisation API tokens, which act for the
// organisation with a role. Names of the contract: POST /organizations {"name"} → {"id","name"};
// POST /organizations/{id}/members {"email","role"}; POST /organizations/{id}/api-tokens
// {"name","role"} → {"id","token"}.
import { z } from 'zod';
import { apiSchemas } from './common-schemas.js';

/** Highest first: `owner` (members and everything), `admin` (devices, tokens, peers), `technician` (open devices, forward TCP), `viewer` (lists and logs). */
export const ORGANIZATION_ROLE_NAMES = ['owner', 'admin', 'technician', 'viewer'] as const;
const role = z.enum(ORGANIZATION_ROLE_NAMES, { message: `role must be one of ${ORGANIZATION_ROLE_NAMES.join(', ')}` });
const id = z.string().min(1).max(64);

export const OrganizationBody = z
  .strictObject({ name: z.string().min(1, 'name must not be empty').max(64, 'name must have at most 64 characters') })
  .register(apiSchemas, { id: 'OrganizationRequest' });

export const OrganizationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    role: role.nullable().describe("The caller's role in the organisation (null: a hub administrator who is not a member)."),
  })
  .register(apiSchemas, { id: 'Organization' });

export const OrganizationParams = z.strictObject({ id });

export const MemberBody = z
  .strictObject({
    email: z.string().min(1, 'email must not be empty').max(320, 'email must have at most 320 characters'),
    role,
  })
  .register(apiSchemas, { id: 'MemberRequest' });

export const MemberSchema = z
  .object({ userId: z.string(), email: z.string(), role, createdAt: z.string() })
  .register(apiSchemas, { id: 'Member' });

export const MemberParams = z.strictObject({ id, userId: id });

export const OrganizationTokenBody = z
  .strictObject({
    name: z
      .string()
      .min(1, 'name must not be empty')
      .max(100, 'name must have at most 100 characters')
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'name must not contain control characters'),
    role,
    expiresInSeconds: z.number().int().min(60).max(31_536_000 * 5).nullable().optional(),
  })
  .register(apiSchemas, { id: 'OrganizationTokenRequest' });

export const OrganizationTokenSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    role,
    displayPrefix: z.string(),
    createdBy: z.string().describe('The account that made the token; the token acts for the organisation, not for it.'),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'OrganizationToken' });

export const NewOrganizationTokenSchema = OrganizationTokenSchema.extend({
  token: z.string().describe('The plaintext token; shown only in this response (the hub keeps a hash).'),
}).register(apiSchemas, { id: 'NewOrganizationToken' });

export const OrganizationTokenParams = z.strictObject({ id, tokenId: id });

export type OrganizationRoleName = (typeof ORGANIZATION_ROLE_NAMES)[number];
export type Organization = z.output<typeof OrganizationSchema>;
export type Member = z.output<typeof MemberSchema>;
export type OrganizationToken = z.output<typeof OrganizationTokenSchema>;
export type NewOrganizationToken = z.output<typeof NewOrganizationTokenSchema>;
