/**
 * REST for API keys and CLI tokens (contract §2.3): list, create (browser session only; the key
 * is in this one response and never again), delete by name; and the unauthenticated revocation
 * endpoint for leaked credentials (answers the same whether or not anything was revoked).
 */
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { PersonalCredential } from './api-key-repository.ts';
import type { PersonalCredentialService } from './api-key-service.ts';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';

export const apiKeyResponse = z.object({
  id: z.string(),
  title: z.string(),
  /** Contract key type; Keyward issues platform keys only. */
  type: z.enum(['platform', 'ai']),
  /** What the credential is: a long-lived API key (pwt_) or a short-term CLI token (pwut_). */
  kind: z.enum(['apikey', 'token']),
  status: z.enum(['active', 'expired', 'suspended']),
  created: z.date(),
  expiration: z.date().optional(),
  lastUsedAt: z.date().optional(),
  keyHint: z.string(),
});

export function toApiKeyResponse(
  c: PersonalCredential,
  nowMs: number,
): z.infer<typeof apiKeyResponse> {
  const expired = !!c.expiresAt && c.expiresAt.getTime() <= nowMs;
  return {
    id: c.id,
    title: c.name,
    type: 'platform',
    kind: c.kind,
    status: expired ? 'expired' : c.suspended ? 'suspended' : 'active',
    created: c.createdAt,
    expiration: c.expiresAt,
    lastUsedAt: c.lastUsedAt,
    keyHint: c.hint,
  };
}

const createBody = z.object({
  title: z.string().min(1, 'must not be empty (omit title for a generated name)').optional(),
  duration: z
    .union([
      z
        .string()
        .regex(/^[0-9]*$/, 'must be a whole number of days')
        .max(5),
      z.number().int().min(0).max(99999),
    ])
    .optional(),
  expiresIn: z
    .number()
    .int('must be whole seconds')
    .min(900, 'must be at least 900 seconds')
    .max(8_639_913_600, 'must be at most 8639913600 seconds')
    .optional(),
  type: z.enum(['platform', 'ai']).default('platform'),
  allocation: z.string().optional(),
});

export function registerApiKeyRoutes(
  api: ApiRegistry,
  deps: { credentials: PersonalCredentialService; now: () => number },
): void {
  const { credentials, now } = deps;
  const tags = ['API keys'];

  api.add({
    method: 'get',
    path: '/api/apikeys',
    summary: 'Your API keys and CLI tokens (never the secrets)',
    tags,
    response: { status: 200, schema: z.array(apiKeyResponse) },
    handler: async (ctx) => {
      const { account } = await requirePrincipal(ctx);
      ctx.set('Cache-Control', 'no-store');
      return (await credentials.list(account.id)).map((c) => toApiKeyResponse(c, now()));
    },
  });

  api.add({
    method: 'post',
    path: '/api/apikeys',
    summary: 'Create an API key (browser session only; the key is shown once)',
    tags,
    description:
      'This route requires browser session authentication and cannot be accessed via API keys. ' +
      'title is unique among your keys (generated as token-YYYYMMDD-HHMMSS-xxxx when omitted); duration (days) and expiresIn (seconds) cannot be combined.',
    security: ['cookie'],
    body: createBody,
    response: { status: 200, schema: apiKeyResponse.extend({ key: z.string() }) },
    handler: async (ctx, { body }) => {
      const principal = await requirePrincipal(ctx, ['session']);
      if (body.type === 'ai')
        throw new AppError(
          'validation_failed',
          'type "ai" keys are not available on Keyward; omit type or use "platform".',
        );
      const { credential, plaintext } = await credentials.createKey(
        principal,
        body,
        requestInfo(ctx),
      );
      ctx.set('Cache-Control', 'no-store');
      return { ...toApiKeyResponse(credential, now()), key: plaintext };
    },
  });

  api.add({
    method: 'delete',
    path: '/api/apikeys/:name',
    summary: 'Delete an API key or CLI token by name (it stops working at once)',
    tags,
    params: z.object({ name: z.string().min(1).max(200) }),
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const principal = await requirePrincipal(ctx);
      await credentials.deleteByName(principal, params.name, requestInfo(ctx));
    },
  });

  api.add({
    method: 'post',
    path: '/api/credentials/revoke',
    summary: 'Revoke leaked API keys or CLI tokens (no authentication; rate-limited)',
    tags,
    description:
      'For secret scanners and anyone who finds a Keyward credential in public. Valid credentials are deleted and their owners see a security event. ' +
      'The answer is always 202, whether or not a credential existed.',
    security: [],
    body: z.object({ credentials: z.array(z.string().min(1).max(512)).min(1).max(100) }),
    response: {
      status: 202,
      schema: z.object({ message: z.string() }),
      description: 'Accepted (the same answer whether or not anything was revoked)',
    },
    handler: async (ctx, { body }) => {
      await credentials.revokeLeaked(body.credentials, requestInfo(ctx));
      return {
        message: 'Thank you. Any of these that were valid Keyward credentials have been revoked.',
      };
    },
  });
}
