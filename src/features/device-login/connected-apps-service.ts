/**
 * "Connected apps": the clients a user has granted access to and, for clients that sign in with
 * the device flow (the CLI), each signed-in device, i.e. each grant. Revoking an app or a device
 * revokes its grants and every token issued from them, so the next request with those tokens fails.
 */
import { AppError } from '../../platform/errors/app-error.ts';
import type { AppConnection, ConnectedAppRepository } from './connected-app-repository.ts';
import type { GrantStore } from './grant-store.ts';

export interface ClientInfo {
  clientId: string;
  name: string;
  firstParty: boolean;
  devices: boolean;
}

export interface SignedInDevice {
  id: string;
  name: string;
  firstSeenAt: Date;
  lastSeenAt?: Date;
  ip?: string;
  userAgent?: string;
}

export interface ConnectedApp {
  clientId: string;
  name: string;
  firstParty: boolean;
  connectedAt: Date;
  lastUsedAt?: Date;
  /** Clients that sign in per device (the CLI): one entry per signed-in device. */
  devices?: SignedInDevice[];
}

const latest = (dates: (Date | undefined)[]): Date | undefined =>
  dates.filter((d): d is Date => !!d).sort((a, b) => b.getTime() - a.getTime())[0];

export class ConnectedAppsService {
  readonly #repo: ConnectedAppRepository;
  readonly #grants: GrantStore;
  readonly #clients: Map<string, ClientInfo>;

  /** `clients`: the clients that may appear (Keyward's own console is not a "connected app"). */
  constructor(deps: { repo: ConnectedAppRepository; grants: GrantStore; clients: ClientInfo[] }) {
    this.#repo = deps.repo;
    this.#grants = deps.grants;
    this.#clients = new Map(deps.clients.map((c) => [c.clientId, c]));
  }

  noteGrant(grant: { grantId: string; accountId: string; clientId: string }): Promise<void> {
    if (!this.#clients.has(grant.clientId)) return Promise.resolve();
    return this.#repo.noteGrant(grant);
  }

  noteUse(use: {
    grantId: string;
    accountId: string;
    clientId: string;
    ip?: string;
    userAgent?: string;
    deviceName?: string;
  }): Promise<void> {
    if (!this.#clients.has(use.clientId)) return Promise.resolve();
    return this.#repo.noteUse(use);
  }

  forget(grantId: string): Promise<void> {
    return this.#repo.remove(grantId);
  }

  /** Live connections only: rows whose grant has expired or been revoked are dropped on the way. */
  async #live(accountId: string): Promise<AppConnection[]> {
    const rows = await this.#repo.listForAccount(accountId);
    const alive = await Promise.all(rows.map((r) => this.#grants.isLive(r.grantId)));
    await Promise.all(rows.filter((_, i) => !alive[i]).map((r) => this.#repo.remove(r.grantId)));
    return rows.filter((r, i) => alive[i] && this.#clients.has(r.clientId));
  }

  async list(accountId: string): Promise<ConnectedApp[]> {
    const byClient = new Map<string, AppConnection[]>();
    for (const row of await this.#live(accountId))
      byClient.set(row.clientId, [...(byClient.get(row.clientId) ?? []), row]);
    return [...byClient].map(([clientId, rows]) => {
      const client = this.#clients.get(clientId)!;
      return {
        clientId,
        name: client.name,
        firstParty: client.firstParty,
        connectedAt: rows[0].createdAt,
        lastUsedAt: latest(rows.map((r) => r.lastSeenAt)),
        ...(client.devices
          ? {
              devices: rows
                .filter((r) => r.lastSeenAt)
                .map((r) => ({
                  id: r.deviceId,
                  name: r.deviceName ?? 'Unnamed device',
                  firstSeenAt: r.createdAt,
                  lastSeenAt: r.lastSeenAt,
                  ip: r.lastIp,
                  userAgent: r.userAgent,
                })),
            }
          : {}),
      };
    });
  }

  /** Revokes consent and every token the account gave the client. */
  async disconnect(accountId: string, clientId: string): Promise<{ name: string; grants: number }> {
    const rows = (await this.#repo.listForAccount(accountId)).filter(
      (r) => r.clientId === clientId,
    );
    const client = this.#clients.get(clientId);
    if (!client || !rows.length)
      throw new AppError('not_found', `"${clientId}" is not connected to your account.`);
    for (const row of rows) {
      await this.#grants.revoke(row.grantId);
      await this.#repo.remove(row.grantId);
    }
    return { name: client.name, grants: rows.length };
  }

  /** Signs one device out: its grant and tokens are revoked; the account's other devices stay signed in. */
  async signOutDevice(
    accountId: string,
    clientId: string,
    deviceId: string,
  ): Promise<{ name: string }> {
    const row = await this.#repo.findDevice(accountId, clientId, deviceId);
    if (!row)
      throw new AppError(
        'not_found',
        `No signed-in device "${deviceId}" for "${clientId}" on your account.`,
      );
    await this.#grants.revoke(row.grantId);
    await this.#repo.remove(row.grantId);
    return { name: row.deviceName ?? 'Unnamed device' };
  }
}
