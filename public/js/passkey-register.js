// "Add a passkey" on the security page: the server makes the options (after checking the
// sign-in is recent), the authenticator makes the credential, the server verifies and stores it.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  var button = document.querySelector('[data-passkey-register]');
  if (!button) return;
  var errorBox = document.querySelector('[data-passkey-error]');

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  async function post(url, form) {
    var headers = { accept: 'application/json', 'x-csrf-token': button.dataset.csrf };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    var response = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: headers, body: form ? new URLSearchParams(form) : undefined });
    var body = await response.json().catch(function () { return {}; });
    // The sign-in is too old for this change: sign in again, then come back here.
    if (response.status === 401 && body.location) {
      window.location.assign(body.location);
      return null;
    }
    if (!response.ok) throw Object.assign(new Error(body.detail || 'Something went wrong. Try again.'), { fromServer: true });
    return body;
  }

  function unavailable(why) {
    button.disabled = true;
    var hint = document.createElement('p');
    hint.className = 'hint';
    hint.textContent = why;
    button.after(hint);
  }
  if (!lib || !lib.browserSupportsWebAuthn()) return unavailable('This browser cannot create passkeys.');
  // Browsers refuse WebAuthn on an IP address ("invalid domain").
  if (/^[\d.]+$|:/.test(window.location.hostname)) return unavailable('Passkeys work only when this site is opened by its name, not by an IP address.');

  button.addEventListener('click', async function () {
    if (errorBox) errorBox.hidden = true;
    button.disabled = true;
    try {
      var options = await post(button.dataset.optionsUrl);
      if (!options) return;
      var credential = await lib.startRegistration({ optionsJSON: options });
      var result = await post(button.dataset.verifyUrl, { response: JSON.stringify(credential) });
      if (result) window.location.assign(result.location);
    } catch (error) {
      if (error && error.fromServer) showError(error.message);
      else if (error && error.name === 'InvalidStateError') showError('This device already has a passkey for your account.');
      else if (error && error.name === 'NotAllowedError') showError('The passkey prompt was closed or timed out. Try again.');
      else showError((error && error.message) || 'The passkey could not be added. Try again.');
    } finally {
      button.disabled = false;
    }
  });
})();
