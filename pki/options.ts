/**
 * Named defaults and the validation of every PKI option, done once (STYLE.md habit 12).
 */
import { PkiError } from './errors.js';

/** OPC 10000-7 security profiles and the RSA key sizes each allows. */
export const PROFILES = {
  Basic256Sha256: { minBits: 2048, maxBits: 4096 },
  Aes128_Sha256_RsaOaep: { minBits: 2048, maxBits: 4096 },
  Aes256_Sha256_RsaPss: { minBits: 2048, maxBits: 4096 },
} as const;

/** A security profile name. */
export type ProfileName = keyof typeof PROFILES;

/** The defaults every command falls back to. */
export const PKI_DEFAULTS = {
  profile: 'Basic256Sha256' as ProfileName,
  keyBits: 2048,
  caKeyBits: 3072,
  caDays: 3650,
  days: 365,
  /** notBefore is set this many hours back: servers reject a notBefore in the future. */
  backdateHours: 3,
  /** Rotate once this fraction of the lifetime has passed (step-ca and cert-manager use 2/3). */
  rotateFraction: 2 / 3,
  crlDays: 30,
  /** Regenerate a CRL once less than this fraction of its validity remains. */
  crlRefreshFraction: 1 / 3,
  organization: 'otwatch plant PKI',
} as const;

/** Validate an integer option within [min, max]. */
export function intOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new PkiError('OTW_ERR_PKI_OPTION', `--${name} must be an integer, got ${JSON.stringify(raw)}`);
  const v = Number(raw);
  if (v < min || v > max) throw new PkiError('OTW_ERR_PKI_OPTION', `--${name} must be within ${min}..${max}, got ${v}`);
  return v;
}

/** Validate a fraction option in (0, 1). */
export function fractionOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || v >= 1) throw new PkiError('OTW_ERR_PKI_OPTION', `--${name} must be a number between 0 and 1, got ${JSON.stringify(raw)}`);
  return v;
}

/** Validate a profile name. */
export function profileOption(raw: string | undefined): ProfileName {
  if (raw === undefined) return PKI_DEFAULTS.profile;
  if (!Object.hasOwn(PROFILES, raw)) throw new PkiError('OTW_ERR_PKI_OPTION', `--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  return raw as ProfileName;
}

/** Check a key size against a profile. */
export function checkKeyBits(profile: ProfileName, bits: number): void {
  const p = PROFILES[profile];
  if (bits < p.minBits || bits > p.maxBits || bits % 1024 !== 0) {
    throw new PkiError('OTW_ERR_PKI_KEY_SIZE', `${profile} allows RSA ${p.minBits}..${p.maxBits} bits, got ${bits}`);
  }
}
