/** Stable machine codes (contract §6: codes never change). */
export const ErrorCodes = {
  invalid_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  conflicting_credentials: 400,
  unauthenticated: 401,
  forbidden: 403,
  csrf_failed: 403,
  sudo_required: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  interaction_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface FieldError {
  type: string;
  code: string;
  detail?: string;
  pointer?: string;
  parameter?: string;
  in?: 'query' | 'path' | 'header' | 'cookie';
}

/** The one application error type; the error middleware maps it to HTTP. */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly fieldErrors: FieldError[];
  readonly params: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: {
      fieldErrors?: FieldError[];
      params?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = ErrorCodes[code];
    this.fieldErrors = opts.fieldErrors ?? [];
    this.params = opts.params ?? {};
    this.headers = opts.headers ?? {};
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
