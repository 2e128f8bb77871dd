/**
 * Whether a request is for Keyward's REST API. The router matches paths case-insensitively, so a
 * guard that looked for `/api/` only in lower case could be stepped around with `/API/…`.
 */
export const isApiPath = (path: string): boolean => /^\/api(\/|$)/i.test(path);

/** Methods that change nothing (RFC 9110 §9.2.1); everything else needs the API's request checks. */
export const isSafeMethod = (method: string): boolean =>
  method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
