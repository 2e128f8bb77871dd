/** HTTP for the CLI: timeouts, a User-Agent, and "server unreachable" as one clear error. */
import { arch, platform } from 'node:os';
import { CliError, ExitCode } from './errors.ts';

export const CLI_VERSION = '0.1.0';
export const USER_AGENT = `keyward-cli/${CLI_VERSION} (node ${process.versions.node}; ${platform()}-${arch()})`;
const TIMEOUT_MS = 30_000;

/** fetch with a timeout; a network failure becomes an `unreachable` CliError naming the server. */
export async function send(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('user-agent', USER_AGENT);
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  try {
    return await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new CliError(
      `Cannot reach the Keyward server at ${new URL(url).origin} (${why}).`,
      ExitCode.unreachable,
      'Check the address (--server or the saved context) and your network, then try again.',
    );
  }
}

export function postForm(url: string, form: Record<string, string | undefined>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  return send(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/** The JSON body, or a CliError saying the server answered something else. */
export async function jsonOf<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(
      `Unexpected answer from ${new URL(res.url || 'http://unknown').origin}: HTTP ${res.status}, not JSON.`,
    );
  }
}

/** Keyward's REST error envelope (contract §6) or an OAuth error, as a message. */
export function errorMessage(body: unknown, status: number): string {
  const b = (body ?? {}) as {
    message?: unknown;
    error?: unknown;
    error_description?: unknown;
    detail?: unknown;
  };
  if (typeof b.message === 'string') return b.message;
  if (typeof b.detail === 'string') return b.detail;
  if (typeof b.error_description === 'string') return b.error_description;
  if (typeof b.error === 'string') return b.error;
  return `HTTP ${status}`;
}

/** Normalises a server given on the command line: scheme added when missing (https), no trailing slash. */
export function normalizeServer(raw: string): string {
  const withScheme = /^https?:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(
      `"${raw}" is not a server address (expected e.g. https://id.example.com).`,
      ExitCode.usage,
    );
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
