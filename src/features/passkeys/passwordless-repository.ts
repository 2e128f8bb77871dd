/**
 * Which accounts gave up their password: one document per account holding the unusable hash
 * that replaced the password. The account is passwordless while its stored hash is still that
 * one, so any later password change (the account page, an admin script) ends it by itself.
 */
import { Schema, type Connection, type Model } from 'mongoose';

interface PasswordlessDoc {
  _id: string;
  passwordHash: string;
  since: Date;
}

const schema = new Schema<PasswordlessDoc>(
  {
    _id: { type: String, required: true },
    passwordHash: { type: String, required: true },
    since: { type: Date, required: true },
  },
  { collection: 'passwordless_accounts', versionKey: false },
);

export class PasswordlessRepository {
  readonly #model: Model<PasswordlessDoc>;

  constructor(conn: Connection) {
    this.#model =
      (conn.models.PasswordlessAccount as Model<PasswordlessDoc>) ??
      conn.model<PasswordlessDoc>('PasswordlessAccount', schema);
  }

  async record(accountId: string, passwordHash: string, since: Date): Promise<void> {
    await this.#model.replaceOne({ _id: accountId }, { passwordHash, since }, { upsert: true });
  }

  async unusableHashOf(accountId: string): Promise<string | undefined> {
    return (await this.#model.findById(accountId).lean<PasswordlessDoc>())?.passwordHash;
  }

  async forget(accountId: string): Promise<void> {
    await this.#model.deleteOne({ _id: accountId });
  }
}
