/**
 * Errors of the report generator, each with a stable code (STYLE habit 6). The CLI turns every
 * one into a single stderr line and exit 2; the API maps them onto its catalogue (api/errors.ts).
 */
export const REPORT_ERRORS = {
  /** The store holds no analysed traffic (no run with packets, no asset): nothing to report on. */
  OTW_ERR_REPORT_NO_DATA: 'no data',
  /** A bad option: unknown standard or format, a date that does not parse, from after to. */
  OTW_ERR_REPORT_USAGE: 'usage',
  /** The zones and conduits model in the config file is not valid. */
  OTW_ERR_REPORT_ZONES: 'zones',
  /** --zone names a zone the model does not declare, or no model is declared. */
  OTW_ERR_REPORT_ZONE_UNKNOWN: 'zone unknown',
  /** The output file could not be written. */
  OTW_ERR_REPORT_IO: 'io',
} as const;

export type ReportErrorCode = keyof typeof REPORT_ERRORS;

export class ReportError extends Error {
  constructor(
    readonly code: ReportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ReportError';
  }
}
