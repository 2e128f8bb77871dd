/**
 * `keyward keys list|create|delete` and `keyward token create --ttl H`, through the REST API
 * (contract §2.3: GET/POST/DELETE /api/apikeys; §2.1: GET /api/auth/token?ttl=).
 */
import { callApi, type ApiEnv } from '../api.ts';
import { usage } from '../errors.ts';
import type { Io } from './login.ts';

interface ApiKey {
  id: string;
  title: string;
  type: string;
  created: string;
  expiration?: string | null;
  lastUsedAt?: string | null;
  keyHint?: string;
}

const day = (iso?: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export async function listKeys(env: ApiEnv, format: 'json' | 'text', io: Io): Promise<void> {
  const { body } = await callApi<ApiKey[] | null>(env, 'GET', '/api/apikeys');
  const keys = body ?? [];
  if (format === 'json') return io.out(JSON.stringify(keys));
  if (!keys.length) return io.err('No API keys.');
  io.out(
    table([
      ['TITLE', 'TYPE', 'HINT', 'CREATED', 'EXPIRES', 'LAST USED'],
      ...keys.map((k) => [
        k.title,
        k.type,
        k.keyHint ?? '',
        day(k.created),
        k.expiration ? day(k.expiration) : 'never',
        day(k.lastUsedAt),
      ]),
    ]),
  );
}

export async function createKey(
  env: ApiEnv,
  opts: { title?: string; duration?: number; expiresIn?: number },
  format: 'json' | 'text',
  io: Io,
): Promise<void> {
  if (opts.duration !== undefined && opts.expiresIn !== undefined)
    throw usage('Use either --duration (days) or --expires-in (seconds), not both.');
  const body = {
    ...(opts.title ? { title: opts.title } : {}),
    ...(opts.duration !== undefined ? { duration: String(opts.duration) } : {}),
    ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}),
  };
  const { body: created } = await callApi<ApiKey & { key: string }>(
    env,
    'POST',
    '/api/apikeys',
    body,
  );
  if (format === 'json') return io.out(JSON.stringify(created));
  io.err(
    `✓ Created API key "${created.title}"${created.expiration ? `, expires ${day(created.expiration)} UTC` : ', never expires'}. It is shown only once:`,
  );
  io.out(created.key);
}

export async function deleteKey(env: ApiEnv, name: string | undefined, io: Io): Promise<void> {
  if (!name) throw usage('Which key? `keyward keys delete <title>`.');
  await callApi(env, 'DELETE', `/api/apikeys/${encodeURIComponent(name)}`);
  io.err(`✓ Deleted API key "${name}". It stopped working immediately.`);
}

export async function createToken(
  env: ApiEnv,
  ttlHours: number | undefined,
  format: 'json' | 'text',
  io: Io,
): Promise<void> {
  const { body } = await callApi<string>(
    env,
    'GET',
    `/api/auth/token${ttlHours === undefined ? '' : `?ttl=${ttlHours}`}`,
  );
  if (format === 'json') return io.out(JSON.stringify({ token: body, ttlHours: ttlHours ?? 24 }));
  io.out(body);
}
