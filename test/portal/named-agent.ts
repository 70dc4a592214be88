import { UserAgent } from '../helpers/user-agent.ts';

/** An HTTP user agent that says which browser it is on every request (a PlayStation, a phone…). */
export class NamedAgent extends UserAgent {
  private readonly userAgent: string;
  constructor(userAgent: string) {
    super();
    this.userAgent = userAgent;
  }
  override request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('user-agent', this.userAgent);
    return super.request(url, { ...init, headers });
  }
}

export const userAgents = {
  playStation: 'Mozilla/5.0 (PlayStation 5 3.11) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Safari/605.1.15',
  iPhone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  macChrome: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
};

