/** Helpers for API key / CLI token tests: create through the real REST route, present as Basic or Bearer. */
import type { Browser } from './browserless.ts';

export const KEY_PATTERN = /^pwt_[A-Za-z0-9_-]+\.[0-9A-Za-z]{38}$/;
export const TOKEN_PATTERN = /^pwut_[A-Za-z0-9_-]+\.[0-9A-Za-z]{38}$/;

export const basic = (key: string) => ({
  authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
});
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface CreatedKey {
  key: string;
  id: string;
  title: string;
  type: string;
  kind: string;
  created: string;
  expiration?: string;
  keyHint: string;
}

/** POST /api/apikeys from a signed-in browser session; returns status and JSON body. */
export async function postKey(
  browser: Browser,
  baseUrl: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await browser.fetch(`${baseUrl}/api/apikeys`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function createKey(
  browser: Browser,
  baseUrl: string,
  body: unknown = {},
): Promise<CreatedKey> {
  const { status, json } = await postKey(browser, baseUrl, body);
  if (status !== 200)
    throw new Error(`POST /api/apikeys answered ${status}: ${JSON.stringify(json)}`);
  return json as unknown as CreatedKey;
}

/** GET a path with headers (no cookies), answering status, text and content type. */
export async function call(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
  init: RequestInit = {},
) {
  const res = await fetch(`${baseUrl}${path}`, {
    ...init,
    headers: { accept: 'application/json', ...headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    type: res.headers.get('content-type') ?? '',
    headers: res.headers,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}
