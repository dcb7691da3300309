/**
 * Security policies (OPC 10000-7 profiles) as far as a passive decoder needs them: the short
 * name and the length of the symmetric signature that ends every Sign / SignAndEncrypt chunk
 * (OPC 10000-6 §6.7.2.5: the signature is computed with the policy's SymmetricSignatureAlgorithm).
 */

export const POLICY_PREFIX = 'http://opcfoundation.org/UA/SecurityPolicy#';
export const POLICY_NONE = POLICY_PREFIX + 'None';

/** Symmetric signature length in bytes per policy: HMAC-SHA1 = 20, HMAC-SHA256 = 32. */
const SYMMETRIC_SIGNATURE: Record<string, number> = {
  None: 0,
  Basic128Rsa15: 20,
  Basic256: 20,
  Basic256Sha256: 32,
  Aes128_Sha256_RsaOaep: 32,
  Aes256_Sha256_RsaPss: 32,
};

/** Short name of a policy URI (`Basic256Sha256`), or the URI itself when it is not standard. */
export function policyName(uri: string | null): string | null {
  if (uri === null) return null;
  return uri.startsWith(POLICY_PREFIX) ? uri.slice(POLICY_PREFIX.length) : uri;
}

/** Symmetric signature length for a policy URI, or undefined when the policy is not known. */
export function symmetricSignatureLength(uri: string | null): number | undefined {
  const n = policyName(uri);
  return n === null ? undefined : SYMMETRIC_SIGNATURE[n];
}

/** MessageSecurityMode (OPC 10000-4 §7.20). */
export type SecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';
export const SECURITY_MODES: Record<number, SecurityMode> = { 1: 'None', 2: 'Sign', 3: 'SignAndEncrypt' };
