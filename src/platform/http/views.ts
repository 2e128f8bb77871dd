import nunjucks from 'nunjucks';

export interface Views {
  render(template: string, context?: Record<string, unknown>): string;
}

/** Nunjucks over `views/`, autoescaping everything. */
export function createViews(dir: string, globals: Record<string, unknown> = {}): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [k, v] of Object.entries(globals)) env.addGlobal(k, v);
  return { render: (template, context = {}) => env.render(template, context) };
}
