/**
 * Keycloak for the side-by-side run: the Maven Central distribution
 * (`org.keycloak:keycloak-quarkus-dist`, fetched once with `mvn dependency:copy` into
 * ~/.cache/keyward/bench and unpacked there), `bin/kc.sh start-dev` with its H2 file database (wiped
 * before each run), the admin from KC_BOOTSTRAP_ADMIN_*, and the realm, clients and users created in
 * one `bin/kcadm.sh create realms -f` (a realm representation). Needs Java 21+.
 * `prepareKeycloak` answers why Keycloak must be skipped instead of throwing.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { BENCH_CACHE, MAVEN_REPO } from './stores.ts';
import { findJava, type Java } from './java.ts';
import {
  freePort,
  httpOk,
  memoryMiB,
  processTree,
  sleep,
  startProcess,
  stopProcess,
  waitUntil,
  type Started,
} from './processes.ts';
import { BENCH_PASSWORD, CALLBACK, type IdpTarget } from './targets.ts';

export interface KeycloakInstall {
  home: string;
  version: string;
  java: Java;
  unpackedNow: boolean;
}

/** Fetches and unpacks Keycloak once; answers the install, or the reason it cannot run here. */
export function prepareKeycloak(version: string): KeycloakInstall | { skip: string } {
  const java = findJava(21);
  if (!java) return { skip: 'Keycloak needs Java 21+; none found in JAVA_HOME or /usr/lib/jvm' };
  const home = join(BENCH_CACHE, `keycloak-${version}`);
  let unpackedNow = false;
  if (!existsSync(join(home, 'bin', 'kc.sh'))) {
    const zip = join(BENCH_CACHE, `keycloak-quarkus-dist-${version}.zip`);
    mkdirSync(BENCH_CACHE, { recursive: true });
    try {
      if (!existsSync(zip)) {
        process.stderr.write(
          `bench: fetching org.keycloak:keycloak-quarkus-dist:${version}:zip from Maven Central\n`,
        );
        execFileSync(
          'mvn',
          [
            '-q',
            '-B',
            `-Dmaven.repo.local=${MAVEN_REPO}`,
            'dependency:copy',
            `-Dartifact=org.keycloak:keycloak-quarkus-dist:${version}:zip`,
            `-DoutputDirectory=${BENCH_CACHE}`,
          ],
          { stdio: 'inherit', env: { ...process.env, JAVA_HOME: java.home } },
        );
      }
      execFileSync('unzip', ['-q', '-o', zip, '-d', BENCH_CACHE], { stdio: 'inherit' });
      unpackedNow = true;
    } catch (err) {
      return {
        skip: `could not fetch or unpack Keycloak ${version} (${(err as Error).message.split('\n')[0]})`,
      };
    }
  }
  return { home, version, java, unpackedNow };
}

export interface RunningKeycloak extends IdpTarget {
  process: Started;
  /** Password hashing as stored for a bench user (Keycloak's credentialData, verbatim). */
  passwordHashing: string;
}

const secret = () => randomBytes(24).toString('base64url');

/** The realm, its clients and users as one representation (kcadm.sh creates it in one call). */
function realmRepresentation(users: string[], secrets: Record<'cc' | 'rs' | 'web', string>) {
  return {
    realm: 'bench',
    enabled: true,
    clients: [
      {
        clientId: 'bench-cc',
        secret: secrets.cc,
        publicClient: false,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        // Keycloak 26 answers `active: false` to a client that is not in the token's audience.
        protocolMappers: [
          {
            name: 'audience bench-rs',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-audience-mapper',
            config: {
              'included.client.audience': 'bench-rs',
              'access.token.claim': 'true',
              'introspection.token.claim': 'true',
            },
          },
        ],
      },
      {
        clientId: 'bench-rs',
        secret: secrets.rs,
        publicClient: false,
        serviceAccountsEnabled: false,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
      },
      {
        clientId: 'bench-web',
        secret: secrets.web,
        publicClient: false,
        standardFlowEnabled: true,
        directAccessGrantsEnabled: false,
        redirectUris: [CALLBACK],
        attributes: { 'pkce.code.challenge.method': 'S256' },
      },
    ],
    users: users.map((u, i) => ({
      username: u,
      enabled: true,
      email: `${u}@example.com`,
      emailVerified: true,
      firstName: 'Bench',
      lastName: `User ${i + 1}`,
      credentials: [{ type: 'password', value: BENCH_PASSWORD, temporary: false }],
    })),
  };
}

export interface KeycloakStart {
  install: KeycloakInstall;
  logDir: string;
  users: string[];
  adminPassword?: string;
}

/**
 * Starts Keycloak on an empty H2 database (timed: `emptyStartMs`), creates the realm, stops it and
 * starts it again on the now populated database (timed: `startMs`, the usual restart).
 */
export async function startKeycloak(
  o: KeycloakStart,
): Promise<RunningKeycloak & { emptyStartMs: number }> {
  const { install } = o;
  rmSync(join(install.home, 'data'), { recursive: true, force: true });
  const port = await freePort();
  const managementPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminPassword = o.adminPassword ?? secret();
  const env = {
    ...process.env,
    JAVA_HOME: install.java.home,
    KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
    KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
  };
  const run = async (label: string) => {
    const p = startProcess(
      join(install.home, 'bin', 'kc.sh'),
      ['start-dev', `--http-port=${port}`, `--http-management-port=${managementPort}`],
      { cwd: install.home, env, logFile: join(o.logDir, `keycloak-${label}.log`) },
    );
    const ms = await waitUntil(
      httpOk(`${base}/realms/master/.well-known/openid-configuration`),
      'Keycloak',
      300000,
      p,
      100,
    );
    return { p, ms };
  };
  const first = await run('first');
  const kcadmConfig = join(o.logDir, 'kcadm.config');
  const kcadm = (...args: string[]) =>
    execFileSync(join(install.home, 'bin', 'kcadm.sh'), [...args, '--config', kcadmConfig], {
      env: { ...env, KC_CLI_PASSWORD: adminPassword },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  kcadm('config', 'credentials', '--server', base, '--realm', 'master', '--user', 'admin');
  const secrets = { cc: secret(), rs: secret(), web: secret() };
  const realmFile = join(o.logDir, 'keycloak-realm.json');
  writeFileSync(realmFile, JSON.stringify(realmRepresentation(o.users, secrets)));
  kcadm('create', 'realms', '-f', realmFile);
  rmSync(realmFile);
  const [user] = JSON.parse(
    kcadm('get', 'users', '-r', 'bench', '-q', `username=${o.users[0]}`, '--fields', 'id'),
  ) as { id: string }[];
  const [cred] = JSON.parse(kcadm('get', `users/${user.id}/credentials`, '-r', 'bench')) as {
    credentialData?: string;
  }[];
  await stopProcess(first.p);
  await sleep(500);
  const again = await run('restart');
  const oidc = `${base}/realms/bench/protocol/openid-connect`;
  return {
    name: `Keycloak ${install.version}`,
    process: again.p,
    pid: again.p.pid,
    emptyStartMs: first.ms,
    startMs: again.ms,
    passwordHashing: cred?.credentialData ?? 'unknown',
    baseUrl: base,
    tokenUrl: `${oidc}/token`,
    introspectionUrl: `${oidc}/token/introspect`,
    authorizeUrl: `${oidc}/auth`,
    clients: {
      cc: { id: 'bench-cc', secret: secrets.cc },
      rs: { id: 'bench-rs', secret: secrets.rs },
      web: { id: 'bench-web', secret: secrets.web },
    },
    users: o.users,
    memory: () => memoryMiB(again.p.pid),
    stop: () => stopProcess(again.p, 30000),
  };
}

/** How Keycloak ran: mode, database, the JVM's heap flags as kc.sh chose them, conf/keycloak.conf. */
export function keycloakSettings(install: KeycloakInstall, pid: number): string {
  const conf = readFileSync(join(install.home, 'conf', 'keycloak.conf'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  let heap = 'unknown';
  try {
    const java = processTree(pid)
      .map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'))
      .find((a) => /java$/.test(a[0]));
    const args = java ?? [];
    heap =
      args.filter((a) => /^-Xm[sx]|RAMPercentage|^-XX:\+Use\w+GC/.test(a)).join(' ') ||
      'JVM defaults';
  } catch {
    /* gone */
  }
  return `start-dev (H2 file database), Java ${install.java.version}, heap ${heap}, conf/keycloak.conf: ${conf.length ? conf.join('; ') : 'all defaults'}`;
}
