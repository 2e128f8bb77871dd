import { z } from 'zod';
import type { ApiRegistry } from './api-registry.ts';

export function registerOpenApiRoute(
  api: ApiRegistry,
  info: { version: string; serverUrl: string },
): void {
  api.add({
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    tags: ['Meta'],
    security: [],
    response: { status: 200, schema: z.record(z.string(), z.unknown()) },
    handler: async () => api.openapi({ title: 'Keyward API', ...info }),
  });
}
