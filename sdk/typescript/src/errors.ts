/** A problem JSON (RFC 9457) or OAuth error the hub answered, with the HTTP status. */
export class HubError extends Error {
  readonly status: number;
  /** The problem's `title` or the OAuth `error` code (stable), when the hub sent one. */
  readonly code: string | undefined;
  readonly body: unknown;

  constructor(status: number, body: unknown, what: string) {
    const record = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const code = typeof record.title === 'string' ? record.title : typeof record.error === 'string' ? record.error : undefined;
    const detail = typeof record.detail === 'string' ? record.detail : typeof record.error_description === 'string' ? record.error_description : undefined;
    super(`${what}: the hub answered ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'HubError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Reads a response body as JSON when it is JSON, else as text (for error messages). */
export async function responseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
