// Password storage per the OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB, t = 2, p = 1
// (PHC string, salt inside), rehash when the parameters change; password rules after NIST SP 800-63B
// §5.1.1.2 (length over composition, a block list, no equality with the account name).
import { hash, parseOptions, verify } from '@node-rs/argon2';

/** Argon2id (the binding's Algorithm.Argon2id is a const enum, so spelled as its value). */
const ARGON2ID = 2;
export const PASSWORD_HASH_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
/** Bounds the work an attacker can make one hash do. */
export const MAX_PASSWORD_LENGTH = 256;

const COMMON = new Set([
  'password', 'password1', 'password12', 'password123', 'passw0rd', '1234567890', '12345678910', 'qwertyuiop', 'qwerty1234',
  '1q2w3e4r5t', 'iloveyou12', 'letmein123', 'welcome123', 'admin12345', 'administrator', 'changeme123', 'abcdefghij', '0987654321',
  'porthole123', 'trustno1234',
]);

/** Why `password` is not acceptable for `email`, or undefined. */
export function passwordProblem(password: string, email: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `password must have at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'password is too common; choose another';
  if (new Set(lower).size < 4) return 'password repeats too few characters; choose another';
  if (lower === email.toLowerCase() || lower === email.toLowerCase().split('@')[0]) return 'password must not be the e-mail address';
  return undefined;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_OPTIONS);
}

/** Constant-time verification; a malformed stored hash verifies as false rather than throwing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** True when `stored` was made with other parameters than today's (rehash on the next login). */
export function needsRehash(stored: string): boolean {
  try {
    const o = parseOptions(stored);
    return (
      o.algorithm !== PASSWORD_HASH_OPTIONS.algorithm ||
      o.memoryCost !== PASSWORD_HASH_OPTIONS.memoryCost ||
      o.timeCost !== PASSWORD_HASH_OPTIONS.timeCost ||
      o.parallelism !== PASSWORD_HASH_OPTIONS.parallelism
    );
  } catch {
    return true;
  }
}

let dummy: Promise<string> | undefined;
/**
 * Verifies against a throwaway hash so a login for an unknown account costs what a wrong password
 * costs (no user enumeration by timing).
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('porthole-dummy-password');
  await verifyPassword(await dummy, password);
}
