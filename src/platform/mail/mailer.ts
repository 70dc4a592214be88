import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../logger.ts';

export interface MailMessage {
  /**
   * What the mail is ("verify-email", "security-notice", …): the only thing the log says about it.
   * Subjects and bodies carry codes and links, so they are never logged.
   */
  kind?: string;
  to: string;
  subject: string;
  /** The text part. Links a person must follow come first in it. */
  text: string;
  /** The HTML part (multipart/alternative with the text). */
  html?: string;
  /** More header fields (List-Unsubscribe of the daily summary). */
  headers?: Record<string, string>;
}

/** A message as the development mailbox keeps it: the JSON beside each .eml file. */
export interface StoredMail {
  id: string;
  date: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  /** Sends now; rejects when the server refuses. */
  send(message: MailMessage): Promise<void>;
  /**
   * Sends in the background (logged on failure), so a request's timing never depends on whether
   * mail went out, which would tell an outsider whether an account exists.
   */
  post(message: MailMessage): void;
  /** Waits for mail posted so far (tests, shutdown). */
  drain(): Promise<void>;
  close(): Promise<void>;
  /** Where files go when SMTP_URL is unset; null with SMTP. */
  mailDir: string | null;
  /**
   * Erasure: waits for mail posted so far, then deletes every message of the development mailbox
   * sent to one of these addresses or naming one (with SMTP, mail already left: nothing is kept).
   * Returns how many messages went.
   */
  forget(addresses: string[]): Promise<number>;
}

const kindOf = (message: MailMessage) => message.kind ?? 'other';

export const mailDirOf = (dataDir: string) => path.join(dataDir, 'mail');

export interface MailerOptions {
  smtpUrl: string | null;
  from: string;
  dataDir: string;
  logger: Logger;
}

/** SMTP_URL set: real SMTP (nodemailer). Unset: every message is an .eml file (and its .json) in DATA_DIR/mail. */
export function createMailer(options: MailerOptions): Mailer {
  const { logger } = options;
  const mailDir = options.smtpUrl ? null : mailDirOf(options.dataDir);
  const transport = options.smtpUrl
    ? nodemailer.createTransport(options.smtpUrl)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const pending = new Set<Promise<void>>();

  async function send(message: MailMessage): Promise<void> {
    const { kind: _kind, ...mail } = message;
    const info = await transport.sendMail({ from: options.from, ...mail });
    if (mailDir) {
      mkdirSync(mailDir, { recursive: true });
      const date = new Date();
      const id = `${date.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
      writeFileSync(path.join(mailDir, `${id}.eml`), (info as unknown as { message: Buffer }).message);
      const stored: StoredMail = { id, date: date.toISOString(), from: options.from, to: message.to, subject: message.subject, text: message.text, ...(message.html ? { html: message.html } : {}) };
      writeFileSync(path.join(mailDir, `${id}.json`), JSON.stringify(stored, null, 2));
      logger.info({ kind: kindOf(message), file: `${id}.eml` }, 'mail written to the development mailbox');
    }
  }

  return {
    mailDir,
    send,
    post(message) {
      const sending = send(message)
        .catch((error) => logger.error({ err: error, kind: kindOf(message) }, 'mail could not be sent'))
        .finally(() => pending.delete(sending));
      pending.add(sending);
    },
    async drain() {
      while (pending.size) await Promise.all([...pending]);
    },
    async close() {
      await this.drain();
      transport.close();
    },
    async forget(addresses) {
      await this.drain();
      return mailDir ? forgetStoredMail(mailDir, addresses) : 0;
    },
  };
}

/** Deletes the stored messages (.json and .eml) addressed to, or mentioning, one of `addresses`. */
export function forgetStoredMail(mailDir: string, addresses: string[]): number {
  const needles = addresses.map((a) => a.toLowerCase()).filter(Boolean);
  if (!needles.length) return 0;
  let names: string[];
  try {
    names = readdirSync(mailDir).filter((name) => name.endsWith('.eml') || name.endsWith('.json'));
  } catch {
    return 0;
  }
  const ids = new Set<string>();
  for (const name of names) {
    const text = readFileSync(path.join(mailDir, name), 'utf8').toLowerCase();
    if (needles.some((needle) => text.includes(needle))) ids.add(name.replace(/\.(eml|json)$/, ''));
  }
  for (const id of ids) for (const ext of ['.eml', '.json']) rmSync(path.join(mailDir, `${id}${ext}`), { force: true });
  return ids.size;
}

/** The development mailbox, newest first. */
export function listStoredMail(mailDir: string): StoredMail[] {
  let names: string[];
  try {
    names = readdirSync(mailDir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .sort()
    .reverse()
    .map((name) => JSON.parse(readFileSync(path.join(mailDir, name), 'utf8')) as StoredMail);
}
