/**
 * The platform's use of users' stored SSH private keys, for confidential OAuth clients holding a
 * client_credentials token with a dedicated scope — never for users: sign a payload (preferred,
 * the key stays in Keyward) or retrieve the decrypted key. Every use is audited for the owner.
 */
import { z } from 'zod';
import { requiredString, type ApiRegistry } from '../../platform/http/api-registry.ts';
import {
  requireClientScope,
  SCOPE_PRIVATE_KEYS_READ,
  SCOPE_PRIVATE_KEYS_SIGN,
  type ClientTokens,
} from '../../platform/auth/client-credentials.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import type { SshPrivateKeyService } from './ssh-private-key-service.ts';
import { KEY_NAME } from './ssh-private-key-service.ts';
import { sshPrivateKeySchema, presentPrivateKey } from './ssh-private-key-routes.ts';

const params = z.object({
  username: z.string().min(1).max(100),
  name: z.string().regex(KEY_NAME, 'is not a valid key name'),
});
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function registerSshPlatformRoutes(
  api: ApiRegistry,
  deps: { keys: SshPrivateKeyService; clientTokens: ClientTokens },
): void {
  const { keys, clientTokens } = deps;
  const tags = ['Platform: SSH private keys'];

  api.add({
    method: 'post',
    path: '/api/platform/users/:username/ssh-private-keys/:name/sign',
    tags,
    summary: "Sign a payload with a user's stored SSH private key (the key never leaves Keyward)",
    description: `Platform clients only: a client_credentials token with scope "${SCOPE_PRIVATE_KEYS_SIGN}". \`format: "ssh"\` answers what ssh-agent answers to a sign request: the SSH signature blob (string algorithm, string signature), base64 — RSA keys sign with rsa-sha2-512 unless \`rsaHash: "sha256"\`. \`format: "sshsig"\` answers an armored SSHSIG signature (as \`ssh-keygen -Y sign -n <namespace>\` writes; verify with \`ssh-keygen -Y verify\`).`,
    security: ['bearer'],
    params,
    body: z.object({
      data: requiredString('is required: the bytes to sign, base64')
        .regex(BASE64, 'must be base64')
        .max(1_048_576, 'is too long: at most 1048576 base64 characters'),
      format: z.enum(['ssh', 'sshsig']).default('ssh'),
      namespace: z
        .string()
        .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1–128 printable ASCII characters without spaces')
        .optional(),
      rsaHash: z.enum(['sha256', 'sha512']).optional(),
    }),
    response: {
      status: 200,
      schema: z.object({
        signature: z.string(),
        algorithm: z.string(),
        format: z.enum(['ssh', 'sshsig']),
        fingerprint: z.string(),
        publicKey: z.string(),
      }),
    },
    handler: async (ctx, { params: p, body }) => {
      const { clientId } = await requireClientScope(ctx, clientTokens, SCOPE_PRIVATE_KEYS_SIGN);
      if (body.format === 'sshsig' && !body.namespace)
        throw new AppError(
          'validation_failed',
          'Invalid request body: namespace: is required for format "sshsig" (e.g. "file" or "git").',
        );
      const data = Buffer.from(body.data, 'base64');
      const out = await keys.sign({ clientId, request: requestInfo(ctx) }, p.username, p.name, {
        data,
        format: body.format,
        namespace: body.namespace,
        rsaHash: body.rsaHash,
      });
      ctx.set('Cache-Control', 'no-store');
      return {
        signature: out.signature,
        algorithm: out.algorithm,
        format: body.format,
        fingerprint: out.key.fingerprint,
        publicKey: out.key.publicKey,
      };
    },
  });

  api.add({
    method: 'get',
    path: '/api/platform/users/:username/ssh-private-keys/:name',
    tags,
    summary: "Retrieve a user's stored SSH private key, decrypted (prefer signing)",
    description: `Platform clients only: a client_credentials token with scope "${SCOPE_PRIVATE_KEYS_READ}". Answers the key as an unencrypted OpenSSH private key. Audited.`,
    security: ['bearer'],
    params,
    response: {
      status: 200,
      schema: sshPrivateKeySchema.extend({
        privateKey: z.string().describe('OpenSSH private key, unencrypted'),
      }),
    },
    handler: async (ctx, { params: p }) => {
      const { clientId } = await requireClientScope(ctx, clientTokens, SCOPE_PRIVATE_KEYS_READ);
      const out = await keys.retrieve({ clientId, request: requestInfo(ctx) }, p.username, p.name);
      ctx.set('Cache-Control', 'no-store');
      return { ...presentPrivateKey(out.key), privateKey: out.privateKey };
    },
  });
}
