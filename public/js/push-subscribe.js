// "Turn on notifications for this browser": registers the service worker /push-sw.js, asks the
// browser's push service for a subscription to the hub's VAPID key, and gives it to the hub.
(function () {
  'use strict';
  var button = document.querySelector('[data-push-subscribe]');
  if (!button) return;
  var errorBox = document.querySelector('[data-push-error]');

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function keyBytes(base64url) {
    var padded = base64url.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((base64url.length + 3) % 4);
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    button.disabled = true;
    showError(button.dataset.msgUnsupported);
    return;
  }
  // The worker is registered at once: it shows what is pushed even before this page is opened again.
  var registration = navigator.serviceWorker.register('/push-sw.js');
  registration.catch(function () { /* shown when the button is pressed */ });

  button.addEventListener('click', async function () {
    if (errorBox) errorBox.hidden = true;
    button.disabled = true;
    try {
      var permission = await Notification.requestPermission();
      if (permission !== 'granted') return showError(button.dataset.msgDenied);
      var worker = await registration;
      await navigator.serviceWorker.ready;
      var subscription = (await worker.pushManager.getSubscription()) ||
        (await worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(button.dataset.vapidKey) }));
      var response = await fetch(button.dataset.url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': button.dataset.csrf },
        body: new URLSearchParams({ subscription: JSON.stringify(subscription) }),
      });
      var body = await response.json().catch(function () { return {}; });
      if (!response.ok) return showError(body.detail || button.dataset.msgFailed);
      window.location.assign(body.location);
    } catch {
      showError(button.dataset.msgFailed);
    } finally {
      button.disabled = false;
    }
  });
})();
