import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Router from '@koa/router';

/** Serves the pages' stylesheet (a fixed list of files: no path from the request reaches the disk). */
export function registerStaticRoutes(router: Router, dir: string): void {
  const files: Record<string, { type: string; body: Buffer }> = {
    'keyward.css': { type: 'text/css', body: readFileSync(join(dir, 'keyward.css')) },
    'account.css': { type: 'text/css', body: readFileSync(join(dir, 'account.css')) },
    'keyward.js': { type: 'text/javascript', body: readFileSync(join(dir, 'keyward.js')) },
    'webauthn.js': { type: 'text/javascript', body: readFileSync(join(dir, 'webauthn.js')) },
  };
  router.get('/static/:file', async (ctx, next) => {
    const file = files[ctx.params.file];
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
  });
}
