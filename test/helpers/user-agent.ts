/**
 * A cookie-keeping HTTP user agent that follows redirects by hand, for flows where a browser is
 * not the point (token endpoint tests). Pages a person sees are tested with Chromium instead.
 */
export class UserAgent {
  private readonly cookies = new Map<string, string>();

  private remember(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.cookieHeader());
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.remember(response);
    return response;
  }

  /** Follows redirects on `origin` until one leaves it (the callback) or a page answers. */
  async follow(url: string, origin: string, init: RequestInit = {}): Promise<{ response: Response; url: string }> {
    let current = url;
    let response = await this.request(current, init);
    for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops++) {
      const next = new URL(response.headers.get('location')!, current).toString();
      if (!next.startsWith(origin)) return { response, url: next };
      current = next;
      response = await this.request(current);
    }
    return { response, url: current };
  }

  postForm(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

/**
 * Runs an authorization request to its end with a password sign-in (and consent when asked);
 * returns the URL the hub finally sends the browser to (the client's callback, or an error page).
 */
export async function signInThroughPages(agent: UserAgent, hubUrl: string, authorizationUrl: string, email: string, password: string): Promise<string> {
  let { response, url } = await agent.follow(authorizationUrl, hubUrl);
  for (let step = 0; step < 5; step++) {
    if (!url.startsWith(hubUrl)) return url;
    const html = await response.text();
    const uid = /\/interaction\/([\w-]+)\/(login|confirm)/.exec(html);
    if (!uid) throw new Error(`unexpected page at ${url}: ${html.slice(0, 300)}`);
    const posted = uid[2] === 'login'
      ? await agent.postForm(`${hubUrl}/interaction/${uid[1]}/login`, { email, password })
      : await agent.postForm(`${hubUrl}/interaction/${uid[1]}/confirm`, {});
    if (posted.status < 300 || posted.status >= 400) throw new Error(`sign-in step answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    ({ response, url } = await agent.follow(new URL(posted.headers.get('location')!, hubUrl).toString(), hubUrl));
  }
  throw new Error('too many sign-in steps');
}
