/**
 * The secrets of a sign-in method (OIDC client secret and private key, LDAP bind password), each
 * sealed with the envelope encryption under its own associated data, so a sealed value only
 * opens for its method and field.
 */
import type { Envelope } from '../../platform/crypto/envelope.ts';
import type { MethodType, SecretField, StoredMethod } from './sign-in-method-repository.ts';

const SECRET_FIELDS: Record<MethodType, SecretField[]> = {
  password: [],
  oidc: ['clientSecret', 'privateKeyPEM'],
  ldap: ['bindPassword'],
};

const aad = (m: { organizationId: string; id: string }, field: SecretField) =>
  `sign-in-method:${m.organizationId}:${m.id}:${field}`;

export class MethodSecrets {
  readonly #envelope: Envelope;

  constructor(envelope: Envelope) {
    this.#envelope = envelope;
  }

  seal(
    m: { organizationId: string; id: string },
    secrets: Partial<Record<SecretField, string | undefined>>,
  ): StoredMethod['sealed'] {
    const out: StoredMethod['sealed'] = {};
    for (const [field, value] of Object.entries(secrets) as [SecretField, string | undefined][]) {
      if (value) out[field] = this.#envelope.seal(value, aad(m, field));
    }
    return out;
  }

  open(m: StoredMethod): Partial<Record<SecretField, string>> {
    const out: Partial<Record<SecretField, string>> = {};
    for (const field of SECRET_FIELDS[m.type]) {
      const sealed = m.sealed[field];
      if (sealed) out[field] = this.#envelope.open(sealed, aad(m, field)).toString('utf8');
    }
    return out;
  }
}
