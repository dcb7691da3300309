/**
 * The PKI's public surface for the rest of otwatch: the CLI entry, the wire check, the
 * inventory interface (for the store to adopt) and the error catalogue. See README.md.
 */
export { runPki, pkiUsage, PKI_ENV, type PkiIo } from './cli.js';
export { checkWireCertificate, WIRE_RULES, type WireCheckResult, type WireVerdict, type WireInventory } from './wirecheck.js';
export { openSqliteInventory, type PkiInventory, type CertRecord, type PushRecord, type CertSource } from './inventory.js';
export { openCa, initCa, type OpenCa, type CaConfig } from './ca.js';
export { PKI_ERRORS, PkiError, isPkiError, type PkiErrorCode } from './errors.js';
export { PKI_DEFAULTS, PROFILES, type ProfileName } from './options.js';
