/**
 * HTTP Basic as OAuth clients send it (RFC 6749 §2.3.1: each part form-urlencoded). A header with
 * no colon names a client with an empty secret. Null when it is not Basic or does not decode.
 */
export function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  try {
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return colon < 0 ? { id: decode(decoded), secret: '' } : { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}
