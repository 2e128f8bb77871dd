/**
 * REST routes declare their request and response schemas once; the registry validates input at
 * the edge, strips responses to their schema (so nothing undeclared, such as a hash, can leak),
 * and generates the OpenAPI 3.1 document from the same declarations.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError, type FieldError } from '../errors/app-error.ts';
import { SESSION_COOKIE } from '../oidc/session-cookie.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Koa path, e.g. `/api/apikeys/:name`. */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Security schemes that may be used; `[]` for public routes. */
  security?: string[];
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Success status, and the response schema (JSON) or a raw content type. */
  response: { status: number; schema?: z.ZodType; contentType?: string; description?: string };
  handler: (ctx: Context, input: { params: P; query: Q; body: B }) => Promise<unknown>;
}

const errorEnvelope = z.object({
  error: z.literal(true),
  message: z.string(),
  code: z.string(),
  errors: z.array(z.string()).nullable(),
  params: z.record(z.string(), z.unknown()),
});

/**
 * A required string field: `missing` is the message when it is absent or not a string, while its
 * other checks (max, regex) keep their own messages. `z.string({ error })` would put `missing` on
 * every issue, so an over-long value was told it "is required".
 */
export const requiredString = (missing: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? missing : 'must be a string') });

function parse<T>(
  schema: z.ZodType<T> | undefined,
  value: unknown,
  where: 'path' | 'query' | 'body',
): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fieldErrors: FieldError[] = result.error.issues.map((i) => ({
    type: 'validation',
    code: i.code,
    detail: i.message,
    ...(where === 'body'
      ? { pointer: `#/${i.path.join('/')}` }
      : { parameter: i.path.join('.'), in: where === 'path' ? 'path' : 'query' }),
  }));
  const first = result.error.issues[0];
  const field = first.path.join('.') || where;
  throw new AppError(
    'validation_failed',
    `Invalid ${where === 'body' ? 'request body' : `${where} parameter`}: ${field}: ${first.message}`,
    { fieldErrors },
  );
}

export class ApiRegistry {
  readonly #routes: ApiRoute<any, any, any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any

  add<P, Q, B>(route: ApiRoute<P, Q, B>): void {
    this.#routes.push(route);
  }

  mount(router: Router): void {
    for (const route of this.#routes) {
      router[route.method](route.path, async (ctx) => {
        const input = {
          params: parse(route.params, ctx.params, 'path'),
          query: parse(route.query, ctx.query, 'query'),
          body: parse(route.body, (ctx.request as { body?: unknown }).body ?? {}, 'body'),
        };
        const out = await route.handler(ctx, input);
        ctx.status = route.response.status;
        if (route.response.schema) ctx.body = route.response.schema.parse(out);
        else if (route.response.contentType) {
          ctx.type = route.response.contentType;
          ctx.body = out as string;
        } else ctx.body = null;
      });
    }
  }

  openapi(info: { title: string; version: string; serverUrl: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    // Dates leave as ISO 8601 strings (JSON.stringify), so that is what the document says.
    const schema = (s: z.ZodType) =>
      z.toJSONSchema(s, {
        target: 'draft-2020-12',
        io: 'input',
        unrepresentable: 'any',
        override: ({ zodSchema, jsonSchema }) => {
          if (zodSchema._zod.def.type === 'date')
            Object.assign(jsonSchema, { type: 'string', format: 'date-time' });
        },
      });
    for (const r of this.#routes) {
      const oaPath = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, s] of [
        ['path', r.params],
        ['query', r.query],
      ] as const) {
        if (!s) continue;
        const js = schema(s) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, prop] of Object.entries(js.properties ?? {})) {
          parameters.push({
            name,
            in: where,
            required: where === 'path' || (js.required ?? []).includes(name),
            schema: prop,
          });
        }
      }
      const ok = r.response.schema
        ? {
            description: r.response.description ?? 'OK',
            content: { 'application/json': { schema: schema(r.response.schema) } },
          }
        : r.response.contentType
          ? {
              description: r.response.description ?? 'OK',
              content: { [r.response.contentType]: { schema: { type: 'string' } } },
            }
          : { description: r.response.description ?? 'No content' };
      (paths[oaPath] ??= {})[r.method] = {
        summary: r.summary,
        ...(r.description ? { description: r.description } : {}),
        tags: r.tags,
        operationId: `${r.method}${oaPath.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        ...(r.security ? { security: r.security.map((s) => ({ [s]: [] })) } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(r.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: schema(r.body) } },
              },
            }
          : {}),
        responses: {
          [String(r.response.status)]: ok,
          default: {
            description: 'Error',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/Error' } },
              'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
            },
          },
        },
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: info.title, version: info.version },
      servers: [{ url: info.serverUrl }],
      paths,
      components: {
        schemas: {
          Error: schema(errorEnvelope),
          Problem: {
            type: 'object',
            required: ['type'],
            properties: {
              type: { type: 'string' },
              title: { type: 'string' },
              status: { type: 'integer' },
              detail: { type: 'string' },
              instance: { type: 'string' },
              code: { type: 'string' },
              params: { type: 'object' },
              errors: { type: 'array', items: { type: 'object' } },
            },
          },
        },
        securitySchemes: {
          basic: {
            type: 'http',
            scheme: 'basic',
            description: 'API key as username, empty password.',
          },
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description:
              "Browser session. Its state-changing requests must come from Keyward's own pages (Sec-Fetch-Site or Origin) and carry JSON.",
          },
        },
      },
    };
  }
}
