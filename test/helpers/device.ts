/**
 * Device flow helpers: start a device authorization as the CLI client would, approve or deny it
 * through the real pages (the provider's xsrf token included), and run the `keyward` CLI as a
 * real process.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from './browserless.ts';
import { formAction, formField } from './browserless.ts';
import { runProcess, type ProcessRun } from './process.ts';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const CLI_BIN = fileURLToPath(new URL('../../bin/keyward.js', import.meta.url));

export interface DeviceStart {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export async function startDevice(
  issuer: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<DeviceStart> {
  const res = await fetch(`${issuer}/device_authorization`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({
      client_id: 'pw-cli',
      scope: 'openid profile email offline_access',
      ...extra,
    }),
  });
  if (res.status !== 200)
    throw new Error(`device_authorization answered ${res.status}: ${await res.text()}`);
  return res.json() as Promise<DeviceStart>;
}

export async function pollOnce(
  issuer: string,
  deviceCode: string,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: 'pw-cli',
      grant_type: DEVICE_GRANT,
      device_code: deviceCode,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const section = (html: string) => html.slice(html.indexOf('<section'), html.indexOf('</section>'));

/** Enters a code on the code-entry page; answers the next page (the confirmation page when the code is right). */
export async function enterCode(
  browser: Browser,
  issuer: string,
  userCode: string,
): Promise<{ status: number; html: string }> {
  const page = await browser.fetch(`${issuer}/device`);
  const html = await page.text();
  if (page.status !== 200) return { status: page.status, html: section(html) || html };
  const res = await browser.postForm(new URL(formAction(html, '/device'), issuer).toString(), {
    xsrf: formField(html, 'xsrf'),
    user_code: userCode,
  });
  return { status: res.status, html: await res.text() };
}

/** From the confirmation page: Approve (or Deny), following redirects; answers the final page. */
export async function decide(
  browser: Browser,
  issuer: string,
  confirmHtml: string,
  approve: boolean,
): Promise<{ status: number; html: string; url: string }> {
  const form = confirmHtml.slice(confirmHtml.indexOf('<form id="op.deviceConfirmForm"'));
  const fields = {
    xsrf: formField(form, 'xsrf'),
    user_code: formField(form, 'user_code'),
    confirm: 'yes',
    ...(approve ? {} : { abort: 'yes' }),
  };
  const res = await browser.postForm(
    new URL(formAction(form, '/device'), issuer).toString(),
    fields,
  );
  if (res.status >= 300 && res.status < 400) {
    const done = await browser.follow(new URL(res.headers.get('location')!, issuer).toString());
    return { status: done.res.status, html: section(await done.res.text()), url: done.url };
  }
  return { status: res.status, html: section(await res.text()), url: '' };
}

/** The whole approval by a signed-in browser. */
export async function approve(
  browser: Browser,
  issuer: string,
  userCode: string,
  yes = true,
): Promise<{ status: number; html: string }> {
  const confirm = await enterCode(browser, issuer, userCode);
  if (!confirm.html.includes('op.deviceConfirmForm'))
    throw new Error(`no confirmation page (${confirm.status}): ${section(confirm.html)}`);
  return decide(browser, issuer, confirm.html, yes);
}

export type CliRun = ProcessRun;

/** Runs `keyward …` as a real process (Node 24 running bin/keyward.js). */
export function cli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliRun> & { child: ChildProcess } {
  return runProcess(
    process.execPath,
    [CLI_BIN, ...args],
    { PATH: process.env.PATH ?? '', HOME: env.HOME ?? '/nonexistent', ...env },
    timeoutMs,
  );
}

/** Waits until the running CLI has printed its one-time code. */
export async function codeFrom(
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<{ userCode: string; completeUri?: string }> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no code printed; stderr so far:\n${seen}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = /one-time code: ([B-Z]{4}-[B-Z]{4})/.exec(seen);
      if (m && /Waiting for approval/.test(seen)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve({ userCode: m[1], completeUri: /or open (\S+)/.exec(seen)?.[1] });
      }
    };
    child.stderr!.on('data', onData);
  });
}
