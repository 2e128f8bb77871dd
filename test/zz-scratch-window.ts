import { startKeyward } from './helpers/keyward.ts';
import { startDisposableFerretDb } from './helpers/disposable-ferretdb.ts';
const fdb = await startDisposableFerretDb();
const k = await startKeyward({}, { mongoBase: fdb.uri });
const q = new URLSearchParams({ client_id: 'pw-web', response_type: 'code', scope: 'openid profile', redirect_uri: 'http://localhost:8080/auth/callback', state: 'state-12345678', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
const first = await fetch(`${k.baseUrl}/api/oidc/authorize?${q}`, { redirect: 'manual' });
const loc = first.headers.get('location')!; const cookie = first.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
// SIGKILL for an abrupt loss
const t0 = Date.now();
const stopP = fdb.stop(process.argv[2] as 'SIGKILL');
const seen = new Map<string, number>();
while (Date.now() - t0 < 6000) {
  for (const [name, url, h] of [['authorize', `${k.baseUrl}/api/oidc/authorize?${q}`, {}], ['interaction', new URL(loc, k.baseUrl).toString(), { cookie }], ['jwks', `${k.baseUrl}/api/oidc/jwks`, {}]] as const) {
    const r = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html', ...h } });
    const body = await r.text();
    const key = `${name} ${r.status} ${/unreachable/.test(body) ? 'unreachable' : /went wrong|server_error/.test(body) ? 'server_error' : /expired/.test(body) ? 'expired' : ''}`;
    if (!seen.has(key)) console.log(Date.now() - t0, 'ms', key);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
}
await stopP;
console.log(seen);
await fdb.start(); await k.stop(); await fdb.dispose();
process.exit(0);
