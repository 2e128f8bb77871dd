/**
 * OpenSSH key revocation lists (PROTOCOL.krl), the binary format sshd's `RevokedKeys` reads and
 * `ssh-keygen -Q -f <krl> <cert>` checks against:
 *
 *   uint64 KRL_MAGIC ("SSHKRL\n\0")  uint32 format version (1)  uint64 krl_version
 *   uint64 generated_date  uint64 flags  string reserved  string comment
 *   then sections: byte type, string data
 *
 * Keyward revokes certificates by serial: one certificate section (type 1) per CA key, holding
 * the CA key blob, a reserved string and one serial-list subsection (0x20) of uint64 serials.
 * The KRL is not signed: sshd ignores KRL signatures; it trusts the file it is given.
 */
import { wire, wireString, wireUint32 } from '../../platform/ssh/ssh-wire.ts';

const KRL_MAGIC = 0x5353484b524c0a00n;
const KRL_FORMAT_VERSION = 1;
const KRL_SECTION_CERTIFICATES = 1;
const KRL_SECTION_CERT_SERIAL_LIST = 0x20;

export interface RevokedSerials {
  /** The CA public key blob the serials belong to. */
  caKeyBlob: Buffer;
  serials: bigint[];
}

const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const byte = (n: number) => Buffer.from([n]);

/**
 * A KRL revoking the given serials. `version` should grow with each change (Keyward uses the
 * generation time); serial 0 cannot be revoked by serial in OpenSSH and is refused.
 */
export function buildKrl(input: {
  revoked: RevokedSerials[];
  version: bigint;
  generatedAt: number;
  comment?: string;
}): Buffer {
  const sections: Buffer[] = [];
  for (const { caKeyBlob, serials } of input.revoked) {
    const unique = [...new Set(serials)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (unique.length === 0) continue;
    if (unique[0] <= 0n) throw new Error('serial 0 cannot be revoked by serial');
    const list = wire(...unique.map(u64));
    const data = wire(
      wireString(caKeyBlob),
      wireString(''),
      byte(KRL_SECTION_CERT_SERIAL_LIST),
      wireString(list),
    );
    sections.push(wire(byte(KRL_SECTION_CERTIFICATES), wireString(data)));
  }
  return wire(
    u64(KRL_MAGIC),
    wireUint32(KRL_FORMAT_VERSION),
    u64(input.version),
    u64(BigInt(Math.floor(input.generatedAt))),
    u64(0n),
    wireString(''),
    wireString(input.comment ?? ''),
    ...sections,
  );
}
