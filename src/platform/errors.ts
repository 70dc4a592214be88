/** Stable machine codes; the HTTP layer maps them to pages, fragments, JSON problems or OAuth errors. */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'csrf_failed'
  | 'rate_limited'
  | 'busy'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'internal';

const statusFor: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  csrf_failed: 403,
  rate_limited: 429,
  busy: 503,
  payload_too_large: 413,
  unsupported_media_type: 415,
  bad_gateway: 502,
  gateway_timeout: 504,
  internal: 500,
};

export interface FieldErrors {
  [field: string]: string;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly code: ErrorCode;
  /** Whether the message is safe to show to the caller. */
  readonly expose: boolean;
  readonly fields: FieldErrors | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: { fields?: FieldErrors; retryAfter?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = statusFor[code];
    // "busy" (503) is an answer we chose to give, e.g. "try again shortly", and the gateway's 502 and 504 say what an upstream did: their messages are safe to show.
    this.expose = this.status < 500 || code === 'busy' || code === 'bad_gateway' || code === 'gateway_timeout';
    this.fields = options.fields;
    this.retryAfter = options.retryAfter;
  }
}

export const badRequest = (message: string, fields?: FieldErrors) => new AppError('invalid_input', message, { fields });
export const notFound = (message = 'Not found') => new AppError('not_found', message);
export const forbidden = (message = 'Forbidden') => new AppError('forbidden', message);
export const conflict = (message: string, fields?: FieldErrors) => new AppError('conflict', message, { fields });
