// Registration and claims: unauthenticated, the contract the agent builds on. An agent registers
// with an enrollment token, or starts a claim that its owner approves in the portal and polls for
// the registration; it stores the registration, so every field of the answer is validated.
import { z } from 'zod';
import { apiSchemas, AttestationBody, printable, publicKey, serial } from './common-schemas.js';

export const RegisterBody = z
  .strictObject({
    serial,
    publicKey,
    enrollmentToken: z.string().min(1, 'enrollmentToken must not be empty').max(512, 'enrollmentToken is too long'),
    agentVersion: printable(64, 'agentVersion').optional(),
    attestation: AttestationBody.optional(),
  })
  .register(apiSchemas, { id: 'RegisterRequest' });

const base64Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64 WireGuard key (44 characters)');
const ipv4Address = z.string().regex(/^(?:\d{1,3}\.){3}\d{1,3}$/, 'an IPv4 address');

/** What a device needs to bring its tunnel up; an agent stores it, so it validates every field. */
export const RegistrationSchema = z
  .object({
    serial: z.string().min(1).max(63),
    tunnelIp: ipv4Address,
    overlayCidr: z.string().regex(/^(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'an IPv4 CIDR'),
    hub: z.object({
      publicKey: base64Key,
      endpoint: z.string().min(3).max(300).describe("host:port of the hub's WireGuard UDP endpoint (a name is re-resolved on reconnect)"),
      endpoints: z
        .array(z.string().min(3).max(300))
        .max(64)
        .optional()
        .describe("Every live hub node's WireGuard endpoint, the answering node's first: all share the hub's key, so the agent may move to another when its node stops answering (absent from hubs before clusters)"),
      tunnelIp: ipv4Address,
    }),
    url: z.url(),
    persistentKeepalive: z.number().int().min(0).max(65535),
  })
  .register(apiSchemas, { id: 'Registration' });

export const ClaimStartBody = z
  .strictObject({
    serial,
    publicKey,
    returnUrl: z.string().max(2048, 'returnUrl must have at most 2048 characters').optional(),
    agentVersion: printable(64, 'agentVersion').optional(),
    attestation: AttestationBody.optional(),
  })
  .register(apiSchemas, { id: 'ClaimStartRequest' });

export const ClaimStartSchema = z
  .object({
    userCode: z.string().min(1).max(32),
    verificationUri: z.url(),
    verificationUriComplete: z.url(),
    pollToken: z.string().min(1).max(512),
    expiresIn: z.number().int().positive(),
    interval: z.number().int().positive(),
  })
  .register(apiSchemas, { id: 'ClaimStart' });

export const ClaimPollBody = z.strictObject({ pollToken: z.string().min(1).max(512) }).register(apiSchemas, { id: 'ClaimPollRequest' });

export const ClaimPollSchema = z
  .union([z.object({ status: z.literal('pending') }), z.object({ status: z.literal('approved'), registration: RegistrationSchema })])
  .register(apiSchemas, { id: 'ClaimPoll' });

export type RegisterRequest = z.input<typeof RegisterBody>;
export type Registration = z.output<typeof RegistrationSchema>;
export type ClaimStartRequest = z.input<typeof ClaimStartBody>;
export type ClaimStart = z.output<typeof ClaimStartSchema>;
export type ClaimPoll = z.output<typeof ClaimPollSchema>;
