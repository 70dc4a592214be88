// The portal's only script: htmx does the requests; this adds the CSRF header to them and asks
// before destructive actions with an accessible dialog instead of window.confirm. No inline
// scripts or handlers anywhere (the CSP allows only scripts from this origin).
(() => {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content;

  document.addEventListener('htmx:config:request', (event) => {
    const token = csrfToken();
    if (token) event.detail.ctx.request.headers['X-CSRF-Token'] = token;
  });

  // The account has no time zone yet: tell the hub the browser's once, so times read as the person's own.
  if (document.querySelector('meta[name="time-zone-unknown"]')) {
    const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (timeZone) {
      fetch('/account/time-zone', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrfToken() ?? '' },
        body: new URLSearchParams({ timeZone }),
        credentials: 'same-origin',
      }).catch(() => {});
    }
  }

  document.addEventListener('htmx:confirm', (event) => {
    const dialog = document.getElementById('confirm-dialog');
    const { ctx, issueRequest, dropRequest } = event.detail;
    if (!dialog || typeof dialog.showModal !== 'function' || !ctx?.confirm) return;
    event.preventDefault();
    const source = ctx.sourceElement;
    dialog.querySelector('[data-confirm-message]').textContent = ctx.confirm;
    const button = dialog.querySelector('[data-confirm-button]');
    // The dialog's own word for Confirm is in the page's language; keep it for buttons that name none.
    button.dataset.defaultText ??= button.textContent;
    button.textContent = source?.dataset.confirmButton || button.dataset.defaultText;
    dialog.returnValue = '';
    dialog.addEventListener('close', () => (dialog.returnValue === 'yes' ? issueRequest() : dropRequest()), { once: true });
    dialog.showModal();
  });

  // A live toast about the person's tiers (granted, changed, revoked, expired) redraws the lists of
  // services on the page: each such list names the page it comes from in data-live-refresh.
  const notifications = document.getElementById('notifications');
  if (notifications && window.htmx) {
    new MutationObserver((changes) => {
      const added = changes.flatMap((change) => [...change.addedNodes]);
      if (!added.some((node) => node instanceof Element && node.dataset.event?.startsWith('entitlement.'))) return;
      for (const list of document.querySelectorAll('[data-live-refresh][id]')) {
        window.htmx.ajax('GET', list.dataset.liveRefresh, { target: `#${list.id}`, select: `#${list.id}`, swap: 'outerHTML' });
      }
    }).observe(notifications, { childList: true });
  }

  // A notice fades after a while; errors stay until the next action.
  document.addEventListener('htmx:after:swap', () => {
    for (const toast of document.querySelectorAll('#notifications .toast:not([data-timed])')) {
      toast.dataset.timed = '1';
      setTimeout(() => toast.remove(), 8000);
    }
  });
})();
