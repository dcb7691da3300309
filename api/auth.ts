/**
 * Credentials: API tokens (32 random bytes shown once, stored as their SHA-256), local user
 * passwords (scrypt, random salt, parameters kept with the hash), session ids and CSRF tokens
 * (random, the session id stored hashed). Roles and what each may do.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ROLES, type Role } from '../store/apistore.js';

export { ROLES, type Role };

/**
 * What a route needs, named by the least role that has it: `viewer` (read inventory and
 * findings: every role), `analyst` (triage: analyst, admin), `auditor` (audit log, PKI status:
 * auditor, admin), `admin` (baseline changes, tokens, PKI changes: admin only).
 */
export type Need = Role;
const GRANTS: Record<Role, readonly Role[]> = {
  viewer: ROLES,
  analyst: ['analyst', 'admin'],
  auditor: ['auditor', 'admin'],
  admin: ['admin'],
};

export function allowed(role: Role, need: Need): boolean {
  return GRANTS[need].includes(role);
}

export const TOKEN_PREFIX = 'otw_';

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function randomId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** scrypt cost: N=2^15, r=8, p=1 (OWASP's minimum is N=2^17 with r=8 for 128 MiB; 2^15 keeps logins ~0.1 s on 2 cores). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(pw: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(pw, salt, keylen, opts, (e, k) => (e ? reject(e) : resolve(k))));
}

export async function hashPassword(pw: string): Promise<string> {
  const salt = randomBytes(16);
  const k = await scryptAsync(pw, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 128 * SCRYPT.N * SCRYPT.r * 2 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${k.toString('base64')}`;
}

export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 1 << 20) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  const got = await scryptAsync(pw, salt, want.length, { N, r, p, maxmem: 128 * N * r * 2 });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash to compare against when the user does not exist, so both paths cost one scrypt. */
let dummy: Promise<string> | null = null;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomId());
  return dummy;
}

export const PASSWORD_MIN = 12;
export function passwordProblem(pw: string): string | null {
  if (pw.length < PASSWORD_MIN) return `a password needs at least ${PASSWORD_MIN} characters`;
  if (pw.length > 1024) return 'a password has at most 1024 characters';
  return null;
}
