/**
 * Errors of live capture, each with a stable code. The CLI prints the message as one line and
 * exits 2 (a usage or input error: missing binding, no such interface, refused interface, bad
 * option or configuration).
 */
export type LiveErrorCode =
  | 'OTW_ERR_LIBPCAP'
  | 'OTW_ERR_INTERFACE'
  | 'OTW_ERR_ADDRESSED'
  | 'OTW_ERR_OPEN'
  | 'OTW_ERR_LINKTYPE'
  | 'OTW_ERR_OPTION'
  | 'OTW_ERR_CONFIG'
  | 'OTW_ERR_ROTATE'
  | 'OTW_ERR_WORKER';

export class LiveError extends Error {
  constructor(
    readonly code: LiveErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LiveError';
  }
}
