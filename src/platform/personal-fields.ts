/**
 * Names under which the hub writes a person's details into JSON it keeps (audit data, events,
 * webhook payloads): email addresses, names (a person's own, and the names they give their
 * passkeys and devices, which often hold it), network addresses and browsers.
 */
export const personalFieldNames = new Set(['email', 'old_email', 'new_email', 'name', 'previous_name', 'device_name', 'ip', 'last_ip', 'user_agent']);

/** What an erased detail reads as. */
export const erasedMark = '(erased)';

/**
 * A copy of `value` with every personal field of a deleted person dropped, and every string that
 * contains one of `known` (their addresses, their name) replaced by "(erased)", at any depth.
 */
export function withoutPersonalFields(value: unknown, known: string[]): unknown {
  const needles = known.filter((k) => k.length >= 3).map((k) => k.toLowerCase());
  const scrub = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(scrub);
    if (typeof item === 'string') return needles.some((needle) => item.toLowerCase().includes(needle)) ? erasedMark : item;
    if (!item || typeof item !== 'object') return item;
    return Object.fromEntries(Object.entries(item as Record<string, unknown>).filter(([name]) => !personalFieldNames.has(name)).map(([name, inner]) => [name, scrub(inner)]));
  };
  return scrub(value);
}
