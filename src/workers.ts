/**
 * `KEYWARD_WORKERS=N` (N > 1): Keyward as N worker processes behind one port (node:cluster), so it
 * can use more than one core. The primary serves nothing itself: it starts the embedded database
 * when there is one (once, for all workers, whose MONGODB_URI then points at it), forks the workers
 * one after the other (the first creates keys and indexes on a new database before the others
 * start), restarts a worker that dies, and on SIGTERM/SIGINT stops them all gracefully.
 *
 * Each worker is a complete Keyward (compose()) on the same database, as replicas are: what one
 * worker revokes, the others see through the change signal within `credentials.revocationPollMs`.
 * Only the first worker sweeps expired rows (`KEYWARD_SWEEPS`), so one process does that work.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './platform/config/schema.ts';
import type { Logger } from './platform/logging/logger.ts';
import { startEmbeddedDatabase } from './platform/db/embedded.ts';

/** A worker that exits within this long of its start counts as a crash on start-up. */
const QUICK_EXIT_MS = 10_000;
/** Crashes on start-up in a row after which the primary gives up. */
const MAX_QUICK_EXITS = 5;

interface Slot {
  worker: Worker;
  startedAt: number;
  sweeps: boolean;
}

/** Runs the primary until every worker has stopped; answers the exit code for the process. */
export async function runPrimary(config: Config, logger: Logger): Promise<number> {
  let stopping = false;
  let stopDatabase: (() => Promise<void>) | undefined;
  let mongodbUri = config.mongodbUri;
  // A signal before the workers run ends the start-up at once (the embedded database's exit hook stops it).
  const stopEarly = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
  process.once('SIGTERM', stopEarly);
  process.once('SIGINT', stopEarly);
  if (!mongodbUri) {
    const embedded = await startEmbeddedDatabase(config.dataDir, logger, {
      ferretdbBin: config.ferretdbBin,
    });
    stopDatabase = embedded.stop;
    mongodbUri = embedded.uri;
  }

  const slots = new Map<number, Slot>();
  let running = false;
  let quickExits = 0;
  let exitCode = 0;
  let allStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    allStopped = resolve;
  });

  const fork = (sweeps: boolean): Promise<'listening' | 'exited'> => {
    const worker = cluster.fork({
      MONGODB_URI: mongodbUri,
      KEYWARD_SWEEPS: sweeps ? 'true' : 'false',
      KEYWARD_WORKERS: '1',
    });
    slots.set(worker.id, { worker, startedAt: Date.now(), sweeps });
    return new Promise((resolve) => {
      worker.once('listening', () => {
        quickExits = 0;
        resolve('listening');
      });
      worker.once('exit', () => resolve('exited'));
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.get(worker.id);
    slots.delete(worker.id);
    if (!running) return; // the first worker's failure to start is answered below
    if (stopping) {
      if (slots.size === 0) allStopped();
      return;
    }
    const quick = !slot || Date.now() - slot.startedAt < QUICK_EXIT_MS;
    quickExits = quick ? quickExits + 1 : 0;
    if (quickExits >= MAX_QUICK_EXITS) {
      logger.fatal(
        { event: 'workers.giving_up', code, signal },
        'workers keep failing on start-up; stopping',
      );
      exitCode = 1;
      void stopAll();
      return;
    }
    logger.error(
      { event: 'workers.restart', pid: worker.process.pid, code, signal },
      'a worker stopped; starting another',
    );
    void fork(slot?.sweeps ?? false);
  });

  async function stopAll(): Promise<void> {
    if (stopping) return;
    stopping = true;
    if (slots.size === 0) allStopped();
    for (const { worker } of slots.values()) worker.process.kill('SIGTERM');
    await stopped;
  }

  // The first worker alone first: on a new database it creates the server keys and indexes.
  if ((await fork(true)) === 'exited') {
    // Its own message (bad configuration, unreachable database) is already on stderr.
    stopping = true;
    await stopDatabase?.();
    return 1;
  }
  running = true;
  for (let i = 1; i < config.workers; i++) void fork(false);
  logger.info(
    { event: 'workers.started', workers: config.workers },
    `Keyward runs as ${config.workers} worker processes`,
  );

  process.off('SIGTERM', stopEarly);
  process.off('SIGINT', stopEarly);
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ event: 'workers.stopping', signal }, 'stopping the workers');
    void stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await stopped;
  await stopDatabase?.();
  return exitCode;
}
