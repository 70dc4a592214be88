import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  to: string[];
  subject: string;
  /** The text part, transfer encoding undone. */
  text: string;
  /** The HTML part, transfer encoding undone; '' when the message has none. */
  html: string;
  /** A header field by its name (case-insensitive), unfolded; undefined when absent. */
  header(name: string): string | undefined;
}

/** Undoes quoted-printable (nodemailer's choice for long ASCII lines) and base64. */
function decodeBody(headers: string, body: string): string {
  const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(headers)?.[1]?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** Undoes RFC 2047 encoded words (=?UTF-8?Q?…?= and =?UTF-8?B?…?=): how a subject that is not ASCII travels. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([\w-]+)\?([QB])\?([^?]*)\?=/gi, (_, _charset: string, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    );
}

/** One part of a multipart body by its content type, transfer encoding undone ('' when there is none). */
function partOf(body: string, boundary: string, type: RegExp): string {
  const part = body.split(`--${boundary}`).find((candidate) => type.test(candidate.slice(0, candidate.indexOf('\r\n\r\n'))));
  if (!part) return '';
  const at = part.indexOf('\r\n\r\n');
  return decodeBody(part.slice(0, at), part.slice(at + 4)).replace(/\r\n/g, '\n');
}

function parse(raw: string, to: string[]): CaughtMail {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const subject = decodeHeader(/^subject:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? '');
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(headers)?.[1];
  const header = (name: string) => headers.split('\r\n').find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
  if (!boundary) return { to, subject, text: decodeBody(headers, body).replace(/\r\n/g, '\n'), html: '', header };
  return { to, subject, text: partOf(body, boundary, /content-type:\s*text\/plain/i), html: partOf(body, boundary, /content-type:\s*text\/html/i), header };
}

export interface MailCatcher {
  url: string;
  messages: CaughtMail[];
  /** Waits (polling, with a deadline) for a message to this address matching `subject`. */
  waitFor(to: string, subject?: RegExp, ms?: number): Promise<CaughtMail>;
}

/** A real SMTP server on a free port (smtp-server), for the hub's SMTP_URL. Closed when the test ends. */
export async function startMailCatcher(t: ExecutionContext): Promise<MailCatcher> {
  const messages: CaughtMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push(parse(Buffer.concat(chunks).toString('utf8'), session.envelope.rcptTo.map((r) => r.address)));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, subject, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = messages.findLast((m) => m.to.includes(to.toLowerCase()) && (!subject || subject.test(m.subject)));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject} within ${ms} ms (got: ${messages.map((m) => m.subject).join(', ')})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** The first http(s) link in a text. */
export const firstLink = (text: string) => /https?:\/\/[^\s<>"]+/.exec(text)?.[0] ?? '';
