/**
 * A real OpenLDAP directory for the LDAP sign-in tests: Debian's slapd with a generated
 * slapd.conf in a temp dir, loaded with slapadd, listening on ldap:// (StartTLS) and ldaps:// on
 * free ports with a throwaway certificate. Anonymous users may only bind, so the service account
 * must bind to search.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { selfSignedCertificate } from '../helpers/tls.ts';
import { freePort } from '../helpers/keyward.ts';

export const BASE_DN = 'dc=acme,dc=test';
export const SERVICE_DN = `cn=keyward,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service-account-secret';

export interface DirectoryUser {
  uid: string;
  password: string;
  mail: string;
  cn: string;
}
export interface Slapd {
  ldapUrl: string;
  ldapsUrl: string;
  caCertificate: string;
  stop(): Promise<void>;
}

const waitForPort = async (port: number) => {
  for (let i = 0; i < 100; i++) {
    if (
      await new Promise((r) => {
        const s = connect(port, '127.0.0.1', () => {
          s.end();
          r(true);
        });
        s.on('error', () => r(false));
      })
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd did not listen on ${port}`);
};

export async function startSlapd(users: DirectoryUser[]): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-slapd-'));
  mkdirSync(join(dir, 'data'));
  const { key, cert } = selfSignedCertificate();
  writeFileSync(join(dir, 'key.pem'), key);
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(
    join(dir, 'slapd.conf'),
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map(
        (s) => `include /etc/ldap/schema/${s}.schema`,
      ),
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `TLSCertificateFile ${join(dir, 'cert.pem')}`,
      `TLSCertificateKeyFile ${join(dir, 'key.pem')}`,
      'database mdb',
      `suffix "${BASE_DN}"`,
      `rootdn "cn=admin,${BASE_DN}"`,
      'rootpw admin-secret',
      `directory ${join(dir, 'data')}`,
      'access to attrs=userPassword by anonymous auth by self read by * none',
      'access to * by users read by * none',
      '',
    ].join('\n'),
  );
  const entry = (dn: string, attrs: [string, string][]) =>
    [`dn: ${dn}`, ...attrs.map(([k, v]) => `${k}: ${v}`), ''].join('\n');
  writeFileSync(
    join(dir, 'data.ldif'),
    [
      entry(BASE_DN, [
        ['objectClass', 'dcObject'],
        ['objectClass', 'organization'],
        ['o', 'Acme'],
        ['dc', 'acme'],
      ]),
      entry(`ou=people,${BASE_DN}`, [
        ['objectClass', 'organizationalUnit'],
        ['ou', 'people'],
      ]),
      entry(`ou=services,${BASE_DN}`, [
        ['objectClass', 'organizationalUnit'],
        ['ou', 'services'],
      ]),
      entry(SERVICE_DN, [
        ['objectClass', 'person'],
        ['objectClass', 'simpleSecurityObject'],
        ['cn', 'keyward'],
        ['sn', 'keyward'],
        ['userPassword', SERVICE_PASSWORD],
      ]),
      ...users.map((u) =>
        entry(`uid=${u.uid},ou=people,${BASE_DN}`, [
          ['objectClass', 'inetOrgPerson'],
          ['uid', u.uid],
          ['cn', u.cn],
          ['sn', u.cn.split(' ').pop()!],
          ['mail', u.mail],
          ['userPassword', u.password],
        ]),
      ),
    ].join('\n'),
  );
  execFileSync('slapadd', ['-f', join(dir, 'slapd.conf'), '-l', join(dir, 'data.ldif')], {
    stdio: 'pipe',
  });
  const [ldapPort, ldapsPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    'slapd',
    [
      '-f',
      join(dir, 'slapd.conf'),
      '-h',
      `ldap://127.0.0.1:${ldapPort}/ ldaps://127.0.0.1:${ldapsPort}/`,
      '-d',
      '0',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(ldapPort);
  await waitForPort(ldapsPort);
  return {
    ldapUrl: `ldap://127.0.0.1:${ldapPort}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    caCertificate: cert.toString(),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
