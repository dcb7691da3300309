/**
 * The PKI's error catalogue. Every failure the PKI reports carries one of these stable codes;
 * a code never changes meaning once shipped (STYLE.md habit 6). The CLI prints
 * `CODE: message` on one line and exits 2.
 */
export const PKI_ERRORS = {
  OTW_ERR_PKI_USAGE: 'bad command line',
  OTW_ERR_PKI_OPTION: 'an option has an invalid value',
  OTW_ERR_PKI_NO_PASSPHRASE: 'no passphrase (set OTWATCH_PKI_PASSPHRASE or run on a terminal)',
  OTW_ERR_PKI_BAD_PASSPHRASE: 'the passphrase does not decrypt the CA key',
  OTW_ERR_PKI_EXISTS: 'the PKI folder is already initialised',
  OTW_ERR_PKI_NOT_INITIALISED: 'the PKI folder has no CA (run `otwatch pki init` first)',
  OTW_ERR_PKI_FILE: 'a file cannot be read or written',
  OTW_ERR_PKI_BAD_CERT: 'a certificate cannot be parsed',
  OTW_ERR_PKI_BAD_CSR: 'a certificate signing request cannot be parsed or its signature is wrong',
  OTW_ERR_PKI_CSR_URI_MISMATCH: "the request's subjectAltName URI is not the registered application's",
  OTW_ERR_PKI_KEY_SIZE: 'the key size is not allowed by the certificate profile',
  OTW_ERR_PKI_UNKNOWN_CERT: 'the certificate is not in the inventory',
  OTW_ERR_PKI_ALREADY_REVOKED: 'the certificate is already revoked',
  OTW_ERR_PKI_NOT_OUR_ISSUER: 'the certificate was not issued by this CA',
  OTW_ERR_PKI_PUSH_CONNECT: 'cannot connect to the server',
  OTW_ERR_PKI_PUSH_DENIED: 'the server refused the push (security mode or user rights)',
  OTW_ERR_PKI_PUSH_FAILED: 'a push step failed on the server',
  OTW_ERR_PKI_PUSH_VERIFY: 'the server does not present the new certificate after the push',
  OTW_ERR_PKI_AUDIT_BROKEN: 'the audit log chain is broken',
  OTW_ERR_PKI_INTERNAL: 'an unexpected error (a bug: please report it)',
} as const;

/** A stable PKI error code. */
export type PkiErrorCode = keyof typeof PKI_ERRORS;

/** An error with a stable code from {@link PKI_ERRORS} and a one-line, secret-free message. */
export class PkiError extends Error {
  readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${PKI_ERRORS[code]}: ${detail}` : PKI_ERRORS[code], options);
    this.name = 'PkiError';
    this.code = code;
  }
}

/** True when `e` is a {@link PkiError} (optionally with the given code). */
export function isPkiError(e: unknown, code?: PkiErrorCode): e is PkiError {
  return e instanceof PkiError && (code === undefined || e.code === code);
}
