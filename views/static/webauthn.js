// WebAuthn in the browser for Keyward's pages (no inline scripts: CSP).
// [data-webauthn-signin] / [data-webauthn-register] containers carry data-options, data-verify and data-csrf.
(function () {
  const b64uToBuf = (s) =>
    Uint8Array.from(
      atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)),
      (c) => c.charCodeAt(0),
    ).buffer;
  const bufToB64u = (b) =>
    btoa(String.fromCharCode(...new Uint8Array(b)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');

  async function post(url, csrf, body) {
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'content-type': 'application/json',
        'x-csrf-token': csrf,
        accept: 'application/json',
      },
      body: JSON.stringify(body || {}),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok)
      throw Object.assign(new Error(data.message || 'The request failed.'), {
        code: data.code,
        params: data.params,
      });
    return data;
  }

  function credentialJSON(cred) {
    const r = cred.response;
    const response = { clientDataJSON: bufToB64u(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufToB64u(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = bufToB64u(r.authenticatorData);
      response.signature = bufToB64u(r.signature);
      if (r.userHandle) response.userHandle = bufToB64u(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: bufToB64u(cred.rawId),
      type: cred.type,
      response,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
    };
  }

  async function signIn(box) {
    const o = await post(box.dataset.options, box.dataset.csrf);
    const publicKey = {
      ...o,
      challenge: b64uToBuf(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: b64uToBuf(c.id) })),
    };
    const cred = await navigator.credentials.get({ publicKey });
    const done = await post(box.dataset.verify, box.dataset.csrf, {
      ...(box.dataset.method ? { method: box.dataset.method } : {}),
      response: credentialJSON(cred),
    });
    if (done.redirect) window.location.assign(done.redirect);
    else if (box.dataset.next) window.location.assign(box.dataset.next);
    return done;
  }

  async function register(box) {
    const o = await post(box.dataset.options, box.dataset.csrf);
    const publicKey = {
      ...o,
      challenge: b64uToBuf(o.challenge),
      user: { ...o.user, id: b64uToBuf(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: b64uToBuf(c.id) })),
    };
    const cred = await navigator.credentials.create({ publicKey });
    const name = (box.querySelector('input[type=text]') || {}).value || 'Security key';
    const done = await post(box.dataset.verify, box.dataset.csrf, {
      name,
      response: credentialJSON(cred),
    });
    const codes = done.recoveryCodes || [];
    const recovery = box.querySelector('[data-recovery]');
    if (recovery && (codes.length || done.continueUrl)) {
      box.querySelector('[data-recovery-codes]').textContent = codes.join('\n');
      if (!codes.length)
        recovery.querySelector('p').textContent = 'Your security key is registered.';
      recovery.hidden = false;
      box.querySelector('[data-webauthn-start]').hidden = true;
      // What led here (the name field, another way to set up) gives way to the result.
      const siblings = box.parentElement
        ? [...box.parentElement.querySelectorAll(':scope > [data-hide-when-done]')]
        : [];
      for (const el of [...box.querySelectorAll('[data-hide-when-done]'), ...siblings])
        el.hidden = true;
    } else if (box.dataset.done) {
      window.location.assign(box.dataset.done);
    }
    return done;
  }

  // Passkey autofill (conditional UI): a [data-webauthn-conditional] box starts a quiet request on
  // load, offered in the username field's autofill; clicking its button aborts it and asks outright.
  let conditional;
  async function startConditional(box) {
    const pkc = window.PublicKeyCredential;
    if (
      !pkc ||
      !pkc.isConditionalMediationAvailable ||
      !(await pkc.isConditionalMediationAvailable())
    )
      return;
    const field = document.querySelector(box.dataset.webauthnConditional);
    if (field && !/\bwebauthn\b/.test(field.autocomplete))
      field.setAttribute(
        'autocomplete',
        `${field.getAttribute('autocomplete') || 'username'} webauthn`,
      );
    conditional = new window.AbortController();
    const { signal } = conditional;
    try {
      // Its own challenge (`conditional`), so a click on the button meanwhile never replaces it.
      const o = await post(box.dataset.options, box.dataset.csrf, { conditional: true });
      if (signal.aborted) return;
      const cred = await navigator.credentials.get({
        publicKey: { ...o, challenge: b64uToBuf(o.challenge), allowCredentials: [] },
        mediation: 'conditional',
        signal,
      });
      const done = await post(box.dataset.verify, box.dataset.csrf, {
        conditional: true,
        response: credentialJSON(cred),
      });
      if (done.redirect) window.location.assign(done.redirect);
    } catch (err) {
      // Quiet unless Keyward refused a passkey the person picked (the browser's own errors stay unshown).
      const error = box.querySelector('[data-webauthn-error]');
      if (!signal.aborted && typeof err.code === 'string' && error) {
        error.textContent = err.message;
        error.hidden = false;
      }
    }
  }
  for (const box of document.querySelectorAll('[data-webauthn-conditional]')) startConditional(box);

  document.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-webauthn-start]');
    if (!button) return;
    if (conditional) conditional.abort();
    const box = button.closest('[data-webauthn-signin],[data-webauthn-register]');
    const error = box.querySelector('[data-webauthn-error]');
    if (error) error.hidden = true;
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
    try {
      await (box.hasAttribute('data-webauthn-register') ? register(box) : signIn(box));
    } catch (err) {
      // Sudo mode: confirm it's you first, then come back to this page.
      if (err.code === 'sudo_required') {
        const verify = (err.params && err.params.verifyUrl) || '/account/verify';
        window.location.assign(`${verify}?next=${encodeURIComponent(window.location.pathname)}`);
        return;
      }
      if (error) {
        error.textContent =
          err.name === 'NotAllowedError'
            ? 'The security key request was cancelled or timed out. Try again.'
            : err.name === 'InvalidStateError'
              ? 'This security key is already registered.'
              : err.message;
        error.hidden = false;
      }
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
    }
  });
})();
