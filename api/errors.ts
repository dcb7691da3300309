/**
 * The API's error catalogue: every error a client can see has a stable `OTW_ERR_*` code and an
 * HTTP status here, nowhere else. Codes never change meaning once shipped (STYLE.md habit 6).
 * Body of every error: `{ statusCode, code, error, message, field? }`; never a stack trace.
 */
export const API_ERRORS = {
  OTW_ERR_VALIDATION: { status: 400, message: 'the request is not valid' },
  OTW_ERR_BAD_CURSOR: { status: 400, message: 'the cursor is not one this list gave out' },
  OTW_ERR_UNAUTHENTICATED: { status: 401, message: 'authentication required: a valid bearer token or session cookie' },
  OTW_ERR_LOGIN_FAILED: { status: 401, message: 'unknown user or wrong password' },
  OTW_ERR_FORBIDDEN: { status: 403, message: 'your role does not allow this' },
  OTW_ERR_CSRF: { status: 403, message: 'missing or wrong x-csrf-token header (cookie sessions must send it on state-changing requests)' },
  OTW_ERR_NOT_FOUND: { status: 404, message: 'no such resource' },
  OTW_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  OTW_ERR_CONFLICT: { status: 409, message: 'the resource already exists' },
  OTW_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'request body too large' },
  OTW_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported content type (send application/json)' },
  OTW_ERR_RATE_LIMITED: { status: 429, message: 'too many requests, retry later' },
  OTW_ERR_PKI: { status: 422, message: 'the PKI refused the operation' },
  OTW_ERR_PKI_UNAVAILABLE: { status: 503, message: 'no PKI folder is configured for this server (--pki-dir)' },
  OTW_ERR_NOT_READY: { status: 503, message: 'the store is not ready' },
  OTW_ERR_REPORT_NO_DATA: { status: 409, message: 'the store holds no data for this report (analyse a capture first, or widen the period)' },
  OTW_ERR_REPORTS_UNAVAILABLE: { status: 503, message: 'no reports folder is configured for this server' },
  OTW_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error to answer with: its code decides the status. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ApiErrorCode,
    message?: string,
    readonly field?: string,
  ) {
    super(message ?? API_ERRORS[code].message);
    this.name = 'ApiError';
    this.statusCode = API_ERRORS[code].status;
  }
}

export interface ErrorBody {
  statusCode: number;
  code: ApiErrorCode;
  error: string;
  message: string;
  field?: string;
}

/** The JSON schema of every error body (referenced by every route's 4xx/5xx responses). */
export const errorSchema = {
  $id: 'ApiError',
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(API_ERRORS) },
    error: { type: 'string' },
    message: { type: 'string' },
    field: { type: 'string', description: 'the request field that is wrong (e.g. query.limit)' },
  },
} as const;

export function errorBody(e: ApiError): ErrorBody {
  const b: ErrorBody = { statusCode: e.statusCode, code: e.code, error: reason(e.statusCode), message: e.message };
  if (e.field !== undefined) b.field = e.field;
  return b;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
const reason = (s: number): string => REASONS[s] ?? 'Error';
