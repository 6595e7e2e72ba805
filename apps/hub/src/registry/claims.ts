// The owner's claim flow, after the OAuth 2.0 Device Authorization Grant (RFC 8628): the agent
// starts a claim and polls with a secret poll token; the owner enters (or follows a link with) a
// short user code on the portal and approves; the approving user becomes the device's owner.
// A claim cannot take a serial under a reserved prefix, and with a device CA it must be attested.
import { randomInt } from 'node:crypto';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import {
  claims,
  devices,
  isUniqueViolation,
  type Executor,
} from '@porthole/db';
import { keyTag } from '@porthole/wireguard';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, translateDbError, ValidationError } from '../errors.js';
import { generateToken, hashToken, looksLikeToken } from '../auth/secret-token.js';
import type { SessionUser } from '../auth/sessions.js';
import { AttestationRequiredError, attestationColumns, type AttestationInput, type AttestationProof, type DeviceAttestor } from './attestation.js';
import { inTransaction, recordChanges, type PendingPeerChange, type RegistryContext } from './context.js';
import { peerChange } from './devices.js';
import { organizationNotFound, organizationsForNewDevices } from './organizations.js';
import { assertKeyFree, insertDevice, registrationConstraintErrors, registrationFor, replaceDeviceKey, type Registration } from './registration.js';
import { normalizeSerial } from './serial.js';
import { assertSerialClaimable } from './serial-reservations.js';
import { refundAttempt, takeAttempt, throttleKey, type BackoffRule } from './throttles.js';
import { parsePublicKey } from './wireguard-key.js';

/**
 * Looking up user codes, per user and per address: ten misses free, then doubling waits from 1 s up
 * to 15 minutes, forgotten an hour after the last. 20^8 codes at that pace are out of reach.
 */
export const CLAIM_CODE_THROTTLE: BackoffRule = { kind: 'backoff', free: 10, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, forgetAfterMs: 3600_000 };

export const CLAIM_TTL_SECONDS = 600;
export const CLAIM_POLL_INTERVAL_SECONDS = 2;
/** Timer jitter allowance: a poll this much early is not yet "too fast". */
const POLL_SLACK_MS = 500;
/** Decided and expired claims are kept this long for the agent's last poll, then pruned. */
const CLAIM_RETENTION_MS = 3600_000;
/** RFC 8628 §6.1: consonants only (no vowels → no words), without look-alikes. 20^8 ≈ 2^34.6 codes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** RFC 8628 §3.5 error codes, kept in the contract's JSON error shape. */
export class ExpiredTokenError extends ValidationError {
  override readonly code: string = 'expired_token';
}
export class AccessDeniedError extends ForbiddenError {
  override readonly code: string = 'access_denied';
}
export class SlowDownError extends RateLimitedError {
  override readonly code: string = 'slow_down';
}

export interface ClaimStart {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  pollToken: string;
  expiresIn: number;
  interval: number;
}

export type ClaimPoll = { status: 'pending' } | { status: 'approved'; registration: Registration };

export interface ClaimView {
  userCode: string;
  serial: string;
  keyTag: string;
  returnUrl: string | null;
  expiresAt: string;
  /** Set when the serial is already registered (approval then needs ownership or admin). */
  existingOwner: 'you' | 'someone else' | 'nobody' | null;
  /**
   * Set when approving replaces the key of the registered device: its key and its last handshake
   * (a device that was online minutes ago is probably the genuine one). Administrators approving a
   * device that is not theirs must confirm the replacement explicitly.
   */
  replacesKey: { keyTag: string; lastHandshakeAt: string | null } | null;
}

/** Who is looking up a code, for the guessing throttle (no address: counted per user only). */
export interface ClaimCodeActor {
  user: SessionUser;
  clientIp?: string | null;
}

export interface ApproveClaimOptions {
  /** The approver confirmed replacing the registered device's key (required of admins, see ClaimView). */
  confirmKeyReplacement?: boolean;
  /**
   * The organisation a new device goes into: one where the approver is owner or admin (any, for a
   * superadmin). Default: the approver's home organisation. A registered device keeps its own.
   */
  organizationId?: string;
}

function formatUserCode(raw: string): string {
  return `${raw.slice(0, 4)}-${raw.slice(4)}`;
}

/** Accepts `abcd-efgh`, `ABCDEFGH`, spaces: uppercases and drops separators. Undefined if malformed. */
export function normalizeUserCode(input: string): string | undefined {
  const raw = input.toUpperCase().replace(/[\s-]/g, '');
  if (raw.length !== 8 || [...raw].some((c) => !USER_CODE_ALPHABET.includes(c))) return undefined;
  return raw;
}

/** An absolute http(s) URL without credentials, at most 2048 characters. */
export function parseReturnUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ValidationError('returnUrl must be an absolute http or https URL', { field: 'returnUrl' });
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || input.length > 2048) {
    throw new ValidationError('returnUrl must be an absolute http or https URL without credentials, at most 2048 characters', { field: 'returnUrl' });
  }
  return url.toString();
}

/** The URL the browser goes back to after approval: the claim's own returnUrl plus `claim=approved`. */
export function returnUrlWith(returnUrl: string, outcome: 'approved' | 'denied'): string {
  const url = new URL(returnUrl);
  url.searchParams.set('claim', outcome);
  return url.toString();
}

export interface StartClaimInput {
  serial: string;
  publicKey: string;
  returnUrl?: string | undefined;
  agentVersion?: string | undefined;
  /** Required when the hub has a device CA; ignored otherwise. */
  attestation?: AttestationInput | undefined;
}

export function createClaims(ctx: RegistryContext, portalUrl: string, attestor?: DeviceAttestor) {
  const verificationUri = new URL('/claim', portalUrl).toString();

  /**
   * The attestation to record when approving a claim: the certificate its start verified, kept on
   * the claim row (so any hub node, and a restarted one, approves it alike). A claim started while
   * the hub had no device CA carries none and cannot be approved once the hub requires one.
   */
  const approvedProof = (claim: typeof claims.$inferSelect): AttestationProof | null => {
    if (!attestor) return null;
    if (claim.attestationSubject === null) {
      throw new AttestationRequiredError(
        `the claim for ${claim.serial} was started before this hub required attested devices; enable remote access on the device again`,
        { field: 'code' },
      );
    }
    return { subject: claim.attestationSubject, issuer: claim.attestationIssuer };
  };

  async function startClaim(input: StartClaimInput): Promise<ClaimStart> {
    const serial = normalizeSerial(input.serial);
    const publicKey = parsePublicKey(input.publicKey);
    const returnUrl = input.returnUrl === undefined ? null : parseReturnUrl(input.returnUrl);
    const now = ctx.now();
    const proof = attestor?.verify({ serial, publicKey, attestation: input.attestation, now });
    await assertSerialClaimable(ctx.db, serial);
    await ctx.db.delete(claims).where(lt(claims.expiresAt, new Date(now.getTime() - CLAIM_RETENTION_MS)));
    const poll = generateToken('poll');
    for (let attempt = 0; ; attempt++) {
      const userCode = Array.from({ length: 8 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join('');
      const expiresAt = new Date(now.getTime() + CLAIM_TTL_SECONDS * 1000);
      let claimId: string;
      try {
        const [row] = await ctx.db
          .insert(claims)
          .values({
            userCode,
            pollTokenHash: poll.hash,
            serial,
            publicKey,
            returnUrl,
            agentVersion: input.agentVersion ?? null,
            attestationSubject: proof?.subject ?? null,
            attestationIssuer: proof?.issuer ?? null,
            createdAt: now,
            expiresAt,
          })
          .returning({ id: claims.id });
        claimId = row!.id;
      } catch (err) {
        if (attempt < 5 && isUniqueViolation(err, 'claims_user_code_pending_unique')) continue;
        throw translateDbError(err);
      }
      ctx.logger?.info('claim started', { device: serial, peer: keyTag(publicKey), attested: proof !== undefined });
      const shown = formatUserCode(userCode);
      return {
        userCode: shown,
        verificationUri,
        verificationUriComplete: `${verificationUri}?code=${shown}`,
        pollToken: poll.plaintext,
        expiresIn: CLAIM_TTL_SECONDS,
        interval: CLAIM_POLL_INTERVAL_SECONDS,
      };
    }
  }

  async function pollClaim(pollToken: string): Promise<ClaimPoll> {
    const expired = () => new ExpiredTokenError('the claim is unknown or has expired; start a new one', { field: 'pollToken' });
    if (!looksLikeToken('poll', pollToken)) throw expired();
    const now = ctx.now();
    const hash = hashToken(pollToken);
    // Taking the poll slot and reading the claim is one statement: two fast polls cannot both pass.
    const [claim] = await ctx.db
      .update(claims)
      .set({ lastPolledAt: now })
      .where(
        and(
          eq(claims.pollTokenHash, hash),
          sql`(${claims.lastPolledAt} is null or ${claims.lastPolledAt} <= ${new Date(now.getTime() - CLAIM_POLL_INTERVAL_SECONDS * 1000 + POLL_SLACK_MS).toISOString()}::timestamptz)`,
        ),
      )
      .returning();
    if (!claim) {
      const [exists] = await ctx.db.select({ id: claims.id }).from(claims).where(eq(claims.pollTokenHash, hash));
      if (!exists) throw expired();
      throw new SlowDownError(`poll at most every ${CLAIM_POLL_INTERVAL_SECONDS} seconds`, CLAIM_POLL_INTERVAL_SECONDS, { field: 'pollToken' });
    }
    if (claim.status === 'denied') throw new AccessDeniedError('the owner denied this claim', { field: 'pollToken' });
    if (claim.status === 'approved') {
      const [device] = await ctx.db.select().from(devices).where(and(eq(devices.serial, claim.serial), eq(devices.publicKey, claim.publicKey)));
      if (!device) throw expired();
      return { status: 'approved', registration: registrationFor(ctx, device) };
    }
    if (claim.expiresAt <= now) throw expired();
    return { status: 'pending' };
  }

  async function pendingClaim(ex: Executor, userCode: string, lock: boolean) {
    const code = normalizeUserCode(userCode);
    const notFound = () => new NotFoundError('this code is unknown or has expired; start again on the device', { field: 'code' });
    if (!code) throw notFound();
    const query = ex
      .select()
      .from(claims)
      .where(and(eq(claims.userCode, code), eq(claims.status, 'pending'), gt(claims.expiresAt, ctx.now())));
    const [claim] = lock ? await query.for('update') : await query;
    if (!claim) throw notFound();
    return claim;
  }

  /** What the approval page shows for a code. */
  /**
   * Runs a lookup by user code under the guessing throttle: every lookup is counted before it runs
   * (parallel guesses cannot overtake the count); one that found its claim gives its count back.
   */
  async function guardCode<T>(actor: ClaimCodeActor, lookup: () => Promise<T>): Promise<T> {
    const keys = [throttleKey('claim-code-user', actor.user.id)];
    if (actor.clientIp != null) keys.push(throttleKey('claim-code-address', actor.clientIp));
    const decision = await takeAttempt(ctx, keys.map((key) => ({ key, rule: CLAIM_CODE_THROTTLE })));
    if (!decision.allowed) {
      throw new RateLimitedError(`too many unknown codes; wait ${Math.max(1, Math.ceil(decision.retryAfterSeconds))} seconds`, decision.retryAfterSeconds, { field: 'code' });
    }
    const result = await lookup().catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) return refundAttempt(ctx, keys).then(() => Promise.reject(err));
      throw err;
    });
    await refundAttempt(ctx, keys);
    return result;
  }

  /** What the approval page shows for a code. */
  async function viewClaim(userCode: string, actor: ClaimCodeActor | SessionUser): Promise<ClaimView> {
    const who = 'user' in actor ? actor : { user: actor };
    return guardCode(who, () => describeClaim(userCode, who.user));
  }

  async function describeClaim(userCode: string, user: SessionUser): Promise<ClaimView> {
    const claim = await pendingClaim(ctx.db, userCode, false);
    const [device] = await ctx.db
      .select({ ownerId: devices.ownerId, publicKey: devices.publicKey, lastHandshakeAt: devices.lastHandshakeAt })
      .from(devices)
      .where(eq(devices.serial, claim.serial));
    return {
      userCode: formatUserCode(claim.userCode),
      serial: claim.serial,
      keyTag: keyTag(claim.publicKey),
      returnUrl: claim.returnUrl,
      expiresAt: claim.expiresAt.toISOString(),
      existingOwner: !device ? null : device.ownerId === null ? 'nobody' : device.ownerId === user.id ? 'you' : 'someone else',
      replacesKey:
        device && device.publicKey !== claim.publicKey
          ? { keyTag: keyTag(device.publicKey), lastHandshakeAt: device.lastHandshakeAt?.toISOString() ?? null }
          : null,
    };
  }

  /** The organisation the approver chose, if it is one where they may add devices; else not found (as an unknown one). */
  async function chosenOrganization(tx: Executor, user: SessionUser, id: string): Promise<string> {
    const { organizations } = await organizationsForNewDevices(tx, user);
    if (!organizations.some((o) => o.id === id)) throw organizationNotFound(id);
    return id;
  }

  /**
   * Approves a pending claim: a new serial becomes a device owned by `user`; an existing one may be
   * re-claimed (and re-keyed) only by its owner or an admin. Returns where to send the browser.
   */
  async function approveClaim(
    userCode: string,
    actor: ClaimCodeActor | SessionUser,
    options: ApproveClaimOptions = {},
  ): Promise<{ serial: string; returnUrl: string | null }> {
    const who = 'user' in actor ? actor : { user: actor };
    return guardCode(who, () => decideApproval(userCode, who.user, options));
  }

  async function decideApproval(userCode: string, user: SessionUser, options: ApproveClaimOptions): Promise<{ serial: string; returnUrl: string | null }> {
    const now = ctx.now();
    const outcome = await inTransaction(
      ctx.db,
      async (tx) => {
        const claim = await pendingClaim(tx, userCode, true);
        // A prefix reserved after the claim started still holds.
        await assertSerialClaimable(tx, claim.serial);
        const attestation = approvedProof(claim);
        const [existing] = await tx.select().from(devices).where(eq(devices.serial, claim.serial)).for('update');
        let pending: PendingPeerChange[] = [];
        if (!existing) {
          await assertKeyFree(tx, claim.publicKey, claim.serial);
          const organizationId = options.organizationId === undefined ? undefined : await chosenOrganization(tx, user, options.organizationId);
          const device = await insertDevice(
            ctx,
            tx,
            { serial: claim.serial, publicKey: claim.publicKey, ownerId: user.id, agentVersion: claim.agentVersion, attestation, ...(organizationId ? { organizationId } : {}) },
            now,
          );
          pending = [peerChange(device, 'upsert')];
        } else {
          if (user.role !== 'admin' && existing.ownerId !== user.id) {
            throw new ForbiddenError(`device ${claim.serial} is registered to another account; ask its owner or an administrator`, { field: 'code' });
          }
          if (existing.status === 'disabled') throw new ForbiddenError(`device ${claim.serial} is disabled by an administrator`, { field: 'code' });
          if (existing.publicKey !== claim.publicKey && existing.ownerId !== user.id && !options.confirmKeyReplacement) {
            const seen = existing.lastHandshakeAt ? `last handshake ${existing.lastHandshakeAt.toISOString()}` : 'never connected';
            throw new ConflictError(
              `approving replaces the key of registered device ${claim.serial} (${keyTag(existing.publicKey)}, ${seen}); confirm the replacement to go on`,
              { field: 'confirmKeyReplacement' },
            );
          }
          // Approving the claim is the owner's approval of the new key.
          if (existing.publicKey !== claim.publicKey) pending = await replaceDeviceKey(tx, existing, claim.publicKey, now, attestation);
          else if (attestation) await tx.update(devices).set(attestationColumns(attestation, now)).where(eq(devices.id, existing.id));
          if (existing.ownerId === null) await tx.update(devices).set({ ownerId: user.id }).where(eq(devices.id, existing.id));
        }
        await tx.update(claims).set({ status: 'approved', decidedBy: user.id, decidedAt: now }).where(eq(claims.id, claim.id));
        return { serial: claim.serial, returnUrl: claim.returnUrl, changes: await recordChanges(tx, pending) };
      },
      ['devices_serial_unique'],
    ).catch((err: unknown) => {
      throw translateDbError(err, { devices_public_key_unique: registrationConstraintErrors('').devices_public_key_unique });
    });
    ctx.emit(outcome.changes);
    ctx.logger?.info('claim approved', { device: outcome.serial, userId: user.id });
    return { serial: outcome.serial, returnUrl: outcome.returnUrl };
  }

  /**
   * Denies a pending claim. The answer has no returnUrl on purpose: after a denial the browser stays
   * on the portal, never goes where the claim's starter (perhaps a phishing device) asked.
   */
  async function denyClaim(userCode: string, actor: ClaimCodeActor | SessionUser): Promise<{ serial: string }> {
    const who = 'user' in actor ? actor : { user: actor };
    return guardCode(who, () =>
      inTransaction(ctx.db, async (tx) => {
        const claim = await pendingClaim(tx, userCode, true);
        await tx.update(claims).set({ status: 'denied', decidedBy: who.user.id, decidedAt: ctx.now() }).where(eq(claims.id, claim.id));
        ctx.logger?.info('claim denied', { device: claim.serial, userId: who.user.id });
        return { serial: claim.serial };
      }),
    );
  }

  return { startClaim, pollClaim, viewClaim, approveClaim, denyClaim };
}
