// Passkeys in the sign-in interaction: the "Sign in with a passkey" button, passkey autofill on
// the Email field (conditional mediation), and "Use a passkey" on the second-factor page.
// The server makes the challenge, checks the answer and says where to go next.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  var button = document.querySelector('[data-passkey-sign-in]');
  if (!button) return;
  var errorBox = document.querySelector('[data-passkey-error]');

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  async function post(url, form) {
    var response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: form
        ? { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }
        : { accept: 'application/json' },
      body: form ? new URLSearchParams(form) : undefined,
    });
    var body = await response.json().catch(function () { return {}; });
    if (!response.ok) throw Object.assign(new Error(body.detail || 'Something went wrong. Try again.'), { fromServer: true });
    return body;
  }

  async function signIn(autofill) {
    var options;
    try {
      options = await post(button.dataset.optionsUrl + (autofill ? '?mediation=conditional' : ''));
    } catch (error) {
      // Autofill is an offer, not something the person asked for: no error until they use it.
      if (autofill) return;
      throw error;
    }
    var credential = await lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });
    var result = await post(button.dataset.verifyUrl, { response: JSON.stringify(credential) });
    window.location.assign(result.location);
  }

  function failed(error) {
    // Another ceremony took over (the button after autofill), or the person closed the prompt.
    if (error && (error.name === 'AbortError' || error.code === 'ERROR_CEREMONY_ABORTED')) return;
    if (error && error.fromServer) return showError(error.message);
    if (error && error.name === 'NotAllowedError') return showError('The passkey prompt was closed or timed out. Try again.');
    showError((error && error.message) || 'The passkey did not work. Try again.');
  }

  // Browsers refuse WebAuthn on an IP address ("invalid domain"): offer passkeys on host names only.
  var onIpAddress = /^[\d.]+$|:/.test(window.location.hostname);
  if (!lib || !lib.browserSupportsWebAuthn() || onIpAddress) {
    button.hidden = true;
    return;
  }

  button.addEventListener('click', function () {
    if (errorBox) errorBox.hidden = true;
    signIn(false).catch(failed);
  });

  if (button.hasAttribute('data-autofill')) {
    lib.browserSupportsWebAuthnAutofill().then(function (supported) {
      // Only the hub's answer is worth showing: the browser's own refusals come before anyone chose anything.
      if (supported) signIn(true).catch(function (error) { if (error && error.fromServer) failed(error); });
    });
  }
})();
