import type { HubEvent } from '../../sdk/typescript/src/index.ts';

export interface Message {
  subject: string;
  from: string;
  /** ISO 8601. */
  date: string;
}

/** A few messages everyone finds in a new inbox, so the demo has something to show. */
const welcome: readonly Message[] = [
  { subject: 'Welcome to VEZEPyEmail', from: 'team@vezepyemail.example', date: '2026-01-05T09:00:00.000Z' },
  { subject: 'Your VEZEPyGame weekly summary', from: 'news@vezepygame.example', date: '2026-01-06T18:30:00.000Z' },
  { subject: 'Fixtures for this weekend', from: 'league@vezepysports.example', date: '2026-01-07T07:15:00.000Z' },
];

/** One inbox per person (by `sub`), in memory: a demo, gone when the process stops. */
export class Inboxes {
  private readonly byPerson = new Map<string, Message[]>();
  /** Event ids already taken: the hub delivers at least once. */
  private readonly seen = new Set<string>();

  /** The person's messages, newest first. */
  list(sub: string, limit: number): Message[] {
    return this.inbox(sub)
      .slice()
      .sort((a, b) => b.date.localeCompare(a.date))
      .slice(0, limit);
  }

  private inbox(sub: string): Message[] {
    let messages = this.byPerson.get(sub);
    if (!messages) {
      messages = welcome.map((message) => ({ ...message }));
      this.byPerson.set(sub, messages);
    }
    return messages;
  }

  /** What a webhook delivery means for the inbox; false when it was seen before or means nothing here. */
  take(event: HubEvent): boolean {
    if (this.seen.has(event.id) || !event.user_id) return false;
    this.seen.add(event.id);
    if (event.type === 'user.deleted') return this.byPerson.delete(event.user_id);
    const message = messageFor(event);
    if (!message) return false;
    this.inbox(event.user_id).push(message);
    return true;
  }
}

const text = (value: unknown, fallback: string) => (typeof value === 'string' && value ? value : fallback);

function messageFor(event: HubEvent): Message | null {
  const date = event.occurred_at;
  switch (event.type) {
    case 'email.received':
      return { subject: text(event.data.subject, '(no subject)'), from: text(event.data.from, 'unknown sender'), date };
    case 'entitlement.granted':
    case 'entitlement.changed':
      return { subject: `Your VEZEPyEmail plan is now ${text(event.data.tier, 'active')}`, from: 'accounts@veze.example', date };
    case 'entitlement.revoked':
    case 'entitlement.expired':
      return { subject: `Your VEZEPyEmail ${text(event.data.tier, '')} plan has ended`.replace('  ', ' '), from: 'accounts@veze.example', date };
    case 'session.created':
      return { subject: `New sign-in to your VEZE account: ${text(event.data.device, 'a new device')}`, from: 'security@veze.example', date };
    default:
      return null;
  }
}
