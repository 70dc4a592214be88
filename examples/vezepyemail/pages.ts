import type { Message } from './inbox.ts';
import type { Session } from './sign-in.ts';

const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>VEZEPyEmail</title></head>
<body><main><h1>VEZEPyEmail</h1>${body}</main></body></html>`;
}

export function signedOutPage(notice?: string): string {
  return page(`${notice ? `<p role="alert">${escape(notice)}</p>` : ''}<p><a href="/login">Sign in with VEZE</a></p>`);
}

export function inboxPage(session: Session, messages: Message[]): string {
  const who = session.name ?? session.email ?? 'you';
  const rows = messages
    .map((m) => `<tr><td>${escape(m.from)}</td><td>${escape(m.subject)}</td><td><time datetime="${escape(m.date)}">${escape(m.date.slice(0, 16).replace('T', ' '))}</time></td></tr>`)
    .join('');
  return page(`<p>Signed in as ${escape(who)}. <a href="/logout">Sign out</a></p>
<table><caption>Inbox</caption><thead><tr><th scope="col">From</th><th scope="col">Subject</th><th scope="col">Date</th></tr></thead><tbody>${rows}</tbody></table>`);
}
