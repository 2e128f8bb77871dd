/**
 * Counts the database commands Keyward sends: a TCP proxy between Keyward and the store that reads
 * the MongoDB wire messages going to the server (OP_MSG) and records each command's name, collection
 * and the field names it filters on. Only used in a separate, short phase (the proxy costs time).
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { BSON, type Document } from 'mongodb';

export interface Command {
  at: number;
  signature: string;
}

/** `find oidc_payloads {_id}`, `update once_markers {_id}`, `insert audit_events`, … */
function describe(body: Document, sequences: Map<string, Document[]>): string {
  const [name] = Object.keys(body);
  const target = typeof body[name] === 'string' ? ` ${body[name] as string}` : '';
  const keys = (q: unknown) =>
    q && typeof q === 'object' ? `{${Object.keys(q as object).join(',')}}` : '';
  switch (name) {
    case 'find':
      return `find${target} ${keys(body.filter)}`;
    case 'findAndModify':
      return `findAndModify${target} ${keys(body.query)}`;
    case 'count':
    case 'countDocuments':
      return `${name}${target} ${keys(body.query)}`;
    case 'aggregate':
      return `aggregate${target}`;
    case 'update': {
      const ups = (body.updates as Document[] | undefined) ?? sequences.get('updates') ?? [];
      return `update${target} ${ups.map((u) => `${keys(u.q)}${u.upsert ? ' upsert' : ''}`).join(' ')}`;
    }
    case 'delete': {
      const dels = (body.deletes as Document[] | undefined) ?? sequences.get('deletes') ?? [];
      return `delete${target} ${dels.map((d) => keys(d.q)).join(' ')}`;
    }
    default:
      return `${name}${target}`;
  }
}

/** The command in one OP_MSG (opCode 2013) message body, or undefined for other messages. */
function parseOpMsg(msg: Buffer): string | undefined {
  if (msg.readInt32LE(12) !== 2013) return undefined;
  const flags = msg.readUInt32LE(16);
  const end = msg.length - (flags & 1 ? 4 : 0);
  let body: Document | undefined;
  const sequences = new Map<string, Document[]>();
  for (let off = 20; off < end;) {
    const kind = msg[off++];
    const size = msg.readInt32LE(off);
    if (kind === 0) {
      body = BSON.deserialize(msg.subarray(off, off + size));
    } else {
      const stop = off + size;
      let p = off + 4;
      const nul = msg.indexOf(0, p);
      const id = msg.toString('utf8', p, nul);
      p = nul + 1;
      const docs: Document[] = [];
      while (p < stop) {
        const len = msg.readInt32LE(p);
        docs.push(BSON.deserialize(msg.subarray(p, p + len)));
        p += len;
      }
      sequences.set(id, docs);
    }
    off += size;
  }
  return body ? describe(body, sequences) : undefined;
}

export class CommandCounter {
  readonly commands: Command[] = [];
  #server?: Server;
  readonly #sockets = new Set<Socket>();

  /** Listens on a free port and forwards to 127.0.0.1:`storePort`; answers the port. */
  async start(storePort: number): Promise<number> {
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: storePort });
      this.#sockets.add(client).add(upstream);
      let pending: Buffer = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
          const len = pending.readInt32LE(0);
          const signature = parseOpMsg(pending.subarray(0, len));
          if (signature) this.commands.push({ at: performance.now(), signature });
          pending = pending.subarray(len);
        }
      });
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    return (this.#server.address() as { port: number }).port;
  }

  /** Commands from `since` (performance.now()) on, without the driver's own monitoring (hello, ping). */
  since(since: number): string[] {
    return this.commands
      .filter(
        (c) => c.at >= since && !/^(hello|isMaster|ismaster|ping|endSessions)\b/.test(c.signature),
      )
      .map((c) => c.signature);
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server?.close(r));
  }
}
