/**
 * Keyward's SSH certificate authority over REST: the CA public keys and the KRL for servers
 * (public, so `curl` on a timer can keep sshd's TrustedUserCAKeys and RevokedKeys files current),
 * issuance for the signed-in user, listings for the user and organization admins, revocation.
 */
import { z } from 'zod';
import { requiredString, type ApiRegistry } from '../../platform/http/api-registry.ts';
import { MAX_PUBLIC_KEY_TEXT, PUBLIC_KEY_TOO_LONG } from '../../platform/ssh/ssh-key-parser.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { SshCaService } from './ssh-ca-service.ts';
import type { SshCertificateService } from './ssh-certificate-service.ts';
import type { SshCertificateRecord } from './ssh-certificate-repository.ts';
import { MAX_VALIDITY_HOURS } from './ssh-certificate-policy.ts';
import { MIN_VALIDITY_SECONDS } from './ssh-certificate-service.ts';
import { presentCaKey } from './ssh-ca-service.ts';

const certificateSchema = z.object({
  serial: z.number().int(),
  keyId: z.string(),
  username: z.string(),
  principals: z.array(z.string()),
  validAfter: z.date(),
  validBefore: z.date(),
  status: z.enum(['valid', 'expired', 'revoked']),
  fingerprint: z.string().describe('SHA256 fingerprint of the certified public key'),
  keyType: z.string(),
  caKeyId: z.string(),
  caFingerprint: z.string(),
  extensions: z.array(z.string()),
  sourceAddress: z.string().nullable(),
  createdAt: z.date(),
  revokedAt: z.date().nullable(),
});

const listQuery = z.object({
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(200).default(50),
  before: z.coerce.number({ error: 'must be a serial number' }).int().min(1).optional(),
});

const SERIAL = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, 'must be a certificate serial number')
  .transform(Number);

export function registerSshCaRoutes(
  api: ApiRegistry,
  deps: { ca: SshCaService; certificates: SshCertificateService },
): void {
  const { ca, certificates } = deps;
  const tags = ['SSH certificates'];
  const present = (r: SshCertificateRecord) => ({
    ...r,
    status: certificates.status(r),
    sourceAddress: r.sourceAddress ?? null,
    revokedAt: r.revokedAt ?? null,
  });

  api.add({
    method: 'get',
    path: '/api/ssh/ca.pub',
    tags,
    security: [],
    summary: "Keyward's SSH user CA public keys (for sshd's TrustedUserCAKeys)",
    description:
      'One OpenSSH public key per line: the active signing key and every key still published (before activation or after a rotation). Save it as the TrustedUserCAKeys file.',
    response: { status: 200, contentType: 'text/plain; charset=utf-8' },
    handler: async (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=60');
      return (await ca.trusted()).map((k) => `${presentCaKey(k).publicKey}\n`).join('');
    },
  });

  api.add({
    method: 'get',
    path: '/api/ssh/krl',
    tags,
    security: [],
    summary: "Revoked SSH certificates as an OpenSSH KRL (for sshd's RevokedKeys)",
    description:
      'Binary key revocation list (OpenSSH PROTOCOL.krl) revoking certificate serials per CA key. Check a certificate with `ssh-keygen -Q -f keyward.krl id_ed25519-cert.pub`.',
    response: { status: 200, contentType: 'application/octet-stream' },
    handler: async (ctx) => {
      ctx.set('Cache-Control', 'no-cache');
      return certificates.krl();
    },
  });

  api.add({
    method: 'post',
    path: '/api/ssh/certificates',
    tags,
    security: ['cookie', 'bearer'],
    summary: 'Get a short-lived OpenSSH user certificate for one of your public keys',
    description: `For a browser session, a CLI sign-in (device flow access token) or a CLI token (not an API key). Principals: your username plus any configured by the platform. Valid from a few minutes ago (clock skew) until the earliest of validitySeconds, the ssh-certificate-max-validity-hours policy (default 8, at most ${MAX_VALIDITY_HOURS}) and the expiry of the credential you present. Save \`certificate\` as <key>-cert.pub next to the key.`,
    body: z.object({
      publicKey: requiredString(
        'is required: the OpenSSH public key to certify (one line from the .pub file)',
      ).max(MAX_PUBLIC_KEY_TEXT, PUBLIC_KEY_TOO_LONG),
      validitySeconds: z
        .number({
          error: (i) => (i.code === 'invalid_type' ? 'must be a number of seconds' : undefined),
        })
        .int()
        .min(MIN_VALIDITY_SECONDS, `must be at least ${MIN_VALIDITY_SECONDS} seconds`)
        .max(
          MAX_VALIDITY_HOURS * 3600,
          `must be at most ${MAX_VALIDITY_HOURS * 3600} seconds (${MAX_VALIDITY_HOURS} hours)`,
        )
        .optional(),
    }),
    response: {
      status: 200,
      schema: z.object({
        certificate: z.string().describe('the OpenSSH certificate line'),
        serial: z.number().int(),
        keyId: z.string(),
        principals: z.array(z.string()),
        validAfter: z.date(),
        validBefore: z.date(),
        fingerprint: z.string(),
        caFingerprint: z.string(),
        extensions: z.array(z.string()),
        sourceAddress: z.string().nullable(),
      }),
    },
    handler: async (ctx, { body }) => {
      const principal = await requirePrincipal(ctx);
      const { certificate, record } = await certificates.issue(principal, body, {
        request: requestInfo(ctx),
        requestId: ctx.state.requestId ?? 'unknown',
      });
      ctx.set('Cache-Control', 'no-store');
      return { certificate, ...record, sourceAddress: record.sourceAddress ?? null };
    },
  });

  api.add({
    method: 'get',
    path: '/api/ssh/certificates',
    tags,
    query: listQuery,
    summary: 'The SSH certificates issued to you, newest first',
    response: { status: 200, schema: z.array(certificateSchema) },
    handler: async (ctx, { query }) => {
      const { account } = await requirePrincipal(ctx);
      return (await certificates.listOwn(account.id, query.limit, query.before)).map(present);
    },
  });

  api.add({
    method: 'get',
    path: '/api/organizations/:org/ssh/certificates',
    tags,
    query: listQuery,
    params: z.object({ org: z.string().min(1).max(100) }),
    summary: "SSH certificates issued to an organization's members (org admins)",
    response: { status: 200, schema: z.array(certificateSchema) },
    handler: async (ctx, { params, query }) => {
      const principal = await requirePrincipal(ctx);
      return (
        await certificates.listForOrganization(principal, params.org, query.limit, query.before)
      ).map(present);
    },
  });

  api.add({
    method: 'post',
    path: '/api/ssh/certificates/:serial/revoke',
    tags,
    params: z.object({ serial: SERIAL }),
    summary: "Revoke an SSH certificate (its owner or an admin of the owner's organization)",
    description:
      'The serial is listed in GET /api/ssh/krl from then on; servers refusing it need the fresh KRL.',
    response: { status: 200, schema: certificateSchema },
    handler: async (ctx, { params }) => {
      const principal = await requirePrincipal(ctx);
      return present(await certificates.revoke(principal, params.serial, requestInfo(ctx)));
    },
  });
}
