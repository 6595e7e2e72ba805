// The pieces every schema module of the contract shares: the registry that names schemas for the
// OpenAPI document, the field rules (serial, key, printable text, dates, paging), and the
// attestation and error bodies.
import { z } from 'zod';

/** Named schemas: they become `components.schemas` of the OpenAPI document. */
export const apiSchemas = z.registry<{ id: string }>();

/** No C0 controls or DEL: PostgreSQL refuses a NUL in text, and no name or search needs one. */
export const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

export const printable = (max: number, what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must have at most ${max} characters`)
    .regex(NO_CONTROL, `${what} must not contain control characters`);

/** Detailed shape checks (DNS label, base64 key) happen in the registry, which names the rule. */
export const serial = z.string().min(1, 'serial must not be empty').max(63, 'serial must have at most 63 characters');
export const publicKey = z.string().max(64, 'publicKey must be 44 characters of base64');
export const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z' });
/**
 * An e-mail address as typed: the registry trims and normalises it (NFKC, case) and refuses
 * look-alikes with a message naming the rule (registry/email-address.ts), so no stricter pattern here.
 */
export const emailAddress = (what: string) => z.string().min(1, `${what} must not be empty`).max(320, `${what} must have at most 320 characters`);

export const boolString = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true');
export const limit = (max: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, `limit must be an integer from 1 to ${max}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `limit must be an integer from 1 to ${max}`);
export const cursor = z.string().max(200, 'cursor is not a cursor this API returned');

/** A device's proof of its serial, required when the hub has a device CA (checked by the registry). */
export const AttestationBody = z
  .strictObject({
    certificateChain: z
      .string()
      .min(1, 'attestation.certificateChain must not be empty')
      .max(12_000, 'attestation.certificateChain must have at most 12000 characters')
      .describe('PEM certificates: the device certificate (subject serialNumber or CN = the serial) first, then intermediates.'),
    signature: z
      .string()
      .min(1, 'attestation.signature must not be empty')
      .max(200, 'attestation.signature must have at most 200 characters')
      .describe('Base64 signature by the device certificate key (DER ECDSA-SHA256 for P-256, or Ed25519) over UTF-8 "porthole-attestation:v1:<serial>:<publicKey>".'),
  })
  .register(apiSchemas, { id: 'Attestation' });

/** Every error answer: a stable machine-readable code, a one-line message, the offending field if any. */
export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) })
  .register(apiSchemas, { id: 'Error' });

export type ErrorBody = z.output<typeof ErrorSchema>;
export type Attestation = z.input<typeof AttestationBody>;
