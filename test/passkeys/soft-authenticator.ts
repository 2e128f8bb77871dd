/**
 * A software WebAuthn authenticator for HTTP-level passkey tests: makes a P-256 credential
 * (attestation "none", user verified, discoverable) and signs assertions with any counter, so
 * tests can play a clone (a counter going backwards) or many sign-ins at once — things Chromium's
 * virtual authenticator cannot be told to do. Built on Node crypto and the CBOR helper of
 * @simplewebauthn/server; what it sends is checked by the real server code.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64u = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

export interface SoftOptions {
  origin: string;
  rpId: string;
  /** User verified (UV flag); a passkey sign-in requires it. */
  userVerified?: boolean;
  /** Backup eligible/state flags: a synced passkey. */
  synced?: boolean;
  aaguid?: string;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  readonly #key: KeyObject;
  readonly #publicJwk: { x: string; y: string };
  counter = 0;
  userHandle = '';
  readonly o: SoftOptions;

  constructor(o: SoftOptions) {
    this.o = { userVerified: true, ...o };
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    this.#publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  #flags(extra: number): number {
    return 0x01 | (this.o.userVerified ? 0x04 : 0) | (this.o.synced ? 0x18 : 0) | extra;
  }

  #authData(flags: number, counter: number, attested?: Buffer): Buffer {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    return Buffer.concat([
      sha256(this.o.rpId),
      Buffer.from([flags]),
      c,
      ...(attested ? [attested] : []),
    ]);
  }

  /** The browser's answer to navigator.credentials.create() for these options (JSON form). */
  create(
    options: { challenge: string; user: { id: string } },
    origin = this.o.origin,
  ): Record<string, unknown> {
    this.userHandle = options.user.id;
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(this.#publicJwk.x, 'base64url')],
      [-3, Buffer.from(this.#publicJwk.y, 'base64url')],
    ]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(this.credentialId.length);
    const aaguid = Buffer.from(
      (this.o.aaguid ?? '00000000-0000-0000-0000-000000000000').replace(/-/g, ''),
      'hex',
    );
    const attested = Buffer.concat([
      aaguid,
      len,
      this.credentialId,
      Buffer.from(isoCBOR.encode(cose as never)),
    ]);
    const authData = this.#authData(this.#flags(0x40), this.counter, attested);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]) as never,
    );
    const clientData = JSON.stringify({
      type: 'webauthn.create',
      challenge: options.challenge,
      origin,
      crossOrigin: false,
    });
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: { credProps: { rk: true } },
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: b64u(Buffer.from(clientData)),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** An assertion for `challenge`; the counter moves forward unless `counter` is given (a clone). */
  get(
    challenge: string,
    opts: { counter?: number; origin?: string; rpId?: string } = {},
  ): Record<string, unknown> {
    const counter = opts.counter ?? ++this.counter;
    const authData = opts.rpId
      ? Buffer.concat([sha256(opts.rpId), this.#authData(this.#flags(0), counter).subarray(32)])
      : this.#authData(this.#flags(0), counter);
    const clientData = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge,
        origin: opts.origin ?? this.o.origin,
        crossOrigin: false,
      }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.#key);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: this.userHandle,
      },
    };
  }
}
