import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import type { ApiRegistry } from './api-registry.ts';

/** `/healthz`: the process is up. `/readyz`: the database answers. */
export function registerHealthRoutes(api: ApiRegistry, ping: () => Promise<boolean>): void {
  api.add({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process is up',
    tags: ['Operations'],
    security: [],
    response: { status: 200, schema: z.object({ status: z.literal('ok') }) },
    handler: async () => ({ status: 'ok' }),
  });
  api.add({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database is reachable',
    tags: ['Operations'],
    security: [],
    response: {
      status: 200,
      schema: z.object({ status: z.literal('ready'), database: z.literal('up') }),
    },
    handler: async () => {
      if (!(await ping()))
        throw new AppError('unavailable', 'The database is unreachable.', {
          headers: { 'Retry-After': '5' },
          params: { database: 'down' },
        });
      return { status: 'ready', database: 'up' };
    },
  });
}
